/**
 * The typed PVE API client proxscale's Proxmox provider talks through. It owns the transport
 * (keep-alive node:https with fingerprint/CA trust checked before the token is sent), retries
 * idempotent calls (GET, and PUT config guarded by a digest) with exponential backoff and seeded
 * jitter, never re-sends a create, clone, power or delete call, keeps a circuit breaker per PVE
 * host, validates every response with zod, and awaits every task by UPID with a deadline.
 * Every failure is a PveError value; nothing here throws for anything PVE or the network does.
 *
 * Lives in adapters/proxmox/; imported by the provider and by CLI wiring, never by core/.
 */
import type { z } from "zod";
import { err, ok, type Result } from "../../core/result.ts";
import type { Provider } from "../../core/model.ts";
import type { Rng } from "../../daemon/ports/clock.ts";
import { backoffDelay, type BackoffPolicy, CircuitBreakers, seededRng } from "./breaker.ts";
import {
  HEALTH_FAILURE_KINDS,
  localError,
  type PveError,
  RETRYABLE_KINDS,
  taskError,
} from "./errors.ts";
import * as S from "./schemas.ts";
import { readSecret, type SecretDeps, type SecretError } from "./secret.ts";
import { PveAgent, type TrustMode } from "./tls_agent.ts";
import { endpointName, exchange, type Method, type Params, type RawBody } from "./transport.ts";

export type TlsOptions = {
  /** PEM text of the CA bundle (e.g. /etc/pve/pve-root-ca.pem). */
  caPem?: string;
  /** Pinned leaf fingerprint(s), `AB:CD:…` (one per node, plus the next during a rotation). */
  fingerprint?: string | string[];
  /** Skip every check. Development only; a warning is emitted once. */
  insecureSkipVerify?: boolean;
};

export type PveClientOptions = {
  endpoint: string;
  tokenId: string;
  tokenSecret: string;
  tls: TlsOptions;
  /** Per-exchange timeout (ms). Default 30 s: PVE delays every 401 by ~3 s. */
  timeoutMs?: number;
  retry?: BackoffPolicy;
  breaker?: { failureThreshold: number; cooldownMs: number };
  /** Task polling: first interval, cap, and the default deadline (ms). */
  task?: { pollMinMs?: number; pollMaxMs?: number; deadlineMs?: number };
  rng?: Rng;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Where startup warnings go (insecure TLS). Never receives the secret. */
  warn?: (msg: string) => void;
  /** Called after every exchange, for metrics and request logs; carries no credentials. */
  observe?: (event: CallEvent) => void;
};

/** One exchange as telemetry sees it. */
export type CallEvent = {
  endpoint: string;
  attempt: number;
  durationMs: number;
  /** HTTP status when a response arrived. */
  status?: number;
  /** Error kind when the exchange failed. */
  kind?: PveError["kind"];
};

export type CallOptions = { idempotent?: boolean; timeoutMs?: number; raw?: RawBody };

/** A task that ended OK or with warnings (which PVE counts as success). */
export type TaskOutcome = { upid: string; exitstatus: string };

/** The pieces of a UPID proxscale needs: where to poll it, and what it is about. */
export type UpidInfo = { node: string; type: string; id: string };

/** Parses a UPID (PVE's task id); undefined if it does not match the grammar. */
export function parseUpid(upid: string): UpidInfo | undefined {
  const m = S.UPID_RE.exec(upid);
  if (!m) return undefined;
  return { node: m[1]!, type: m[6]!, id: m[7]! };
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Typed access to the PVE endpoints proxscale calls. */
export class PveClient {
  readonly endpoint: string;
  readonly tokenId: string;
  readonly #agent: PveAgent;
  readonly #secret: string;
  readonly #timeoutMs: number;
  readonly #retry: BackoffPolicy;
  readonly #breakers: CircuitBreakers;
  readonly #rng: Rng;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;
  readonly #task: { pollMinMs: number; pollMaxMs: number; deadlineMs: number };
  readonly #observe: ((event: CallEvent) => void) | undefined;

  constructor(opts: PveClientOptions) {
    this.endpoint = opts.endpoint.replace(/\/api2\/json\/?$/, "").replace(/\/+$/, "");
    this.tokenId = opts.tokenId;
    this.#secret = opts.tokenSecret;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#retry = opts.retry ?? { attempts: 4, baseMs: 250, maxMs: 5000 };
    this.#now = opts.now ?? Date.now;
    this.#breakers = new CircuitBreakers({
      failureThreshold: opts.breaker?.failureThreshold ?? 5,
      cooldownMs: opts.breaker?.cooldownMs ?? 15_000,
      now: this.#now,
    });
    this.#rng = opts.rng ?? seededRng(1);
    this.#sleep = opts.sleep ?? realSleep;
    this.#task = {
      pollMinMs: opts.task?.pollMinMs ?? 500,
      pollMaxMs: opts.task?.pollMaxMs ?? 2000,
      deadlineMs: opts.task?.deadlineMs ?? 10 * 60_000,
    };
    this.#observe = opts.observe;
    this.#agent = new PveAgent(trustMode(opts.tls), { handshakeTimeoutMs: this.#timeoutMs });
    if (opts.tls.insecureSkipVerify) {
      (opts.warn ?? console.warn)(
        `PVE ${this.endpoint}: TLS verification is off (insecureSkipVerify); ` +
          `pin the certificate fingerprint instead`,
      );
    }
  }

  /** Closes pooled connections; call when the client is no longer needed. */
  close(): void {
    this.#agent.destroy();
  }

  /** Is the breaker for this PVE host open (the host failed repeatedly just now)? */
  hostTripped(node: string): boolean {
    return this.#breakers.isOpen(node);
  }

  /**
   * One API call: breaker check, exchange, schema validation, and for idempotent calls bounded
   * retries with backoff. Non-idempotent calls are sent exactly once.
   */
  async call<T extends z.ZodType>(
    schema: T,
    method: Method,
    path: string,
    params?: Params,
    opts: CallOptions = {},
  ): Promise<Result<z.output<T>, PveError>> {
    const idempotent = opts.idempotent ?? method === "GET";
    const endpoint = endpointName(method, path);
    const key = breakerKey(path);
    const attempts = idempotent ? Math.max(1, this.#retry.attempts) : 1;
    let last: PveError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const admitted = this.#breakers.admit(key);
      if (!admitted.ok) {
        return err(localError(
          "circuitOpen",
          endpoint,
          `circuit breaker for ${key === "api" ? this.endpoint : `host ${key}`} is open after ` +
            `repeated failures; next try at ${new Date(admitted.retryAt).toISOString()}` +
            (last ? ` (last error: ${last.message})` : ""),
        ));
      }
      const began = this.#now();
      const r = await exchange(
        {
          endpoint: this.endpoint,
          tokenId: this.tokenId,
          tokenSecret: () => this.#secret,
          agent: this.#agent,
          timeoutMs: opts.timeoutMs ?? this.#timeoutMs,
        },
        method,
        path,
        params,
        undefined,
        opts.raw,
      );
      const outcome: Result<z.output<T>, PveError> = r.ok
        ? decodeData(schema, r.value, endpoint)
        : r;
      this.#observe?.({
        endpoint,
        attempt,
        durationMs: this.#now() - began,
        ...(outcome.ok ? { status: 200 } : {}),
        ...(!outcome.ok && outcome.error.status !== undefined
          ? { status: outcome.error.status }
          : {}),
        ...(!outcome.ok ? { kind: outcome.error.kind } : {}),
      });
      if (outcome.ok) {
        this.#breakers.success(key);
        return outcome;
      }
      last = outcome.error;
      if (HEALTH_FAILURE_KINDS.has(last.kind)) this.#breakers.failure(key);
      else this.#breakers.success(key);
      if (!RETRYABLE_KINDS.has(last.kind) || attempt === attempts) break;
      await this.#sleep(backoffDelay(this.#retry, attempt, this.#rng));
    }
    return err(last!);
  }

  version() {
    return this.call(S.versionInfo, "GET", "/version");
  }

  clusterStatus() {
    return this.call(S.clusterStatus, "GET", "/cluster/status");
  }

  /** The HA manager's status: which nodes are in HA maintenance (Sys.Audit on /). */
  haManagerStatus() {
    return this.call(S.haManagerStatus, "GET", "/cluster/ha/status/manager_status");
  }

  /** Lowest free VMID, or (with `vmid`) whether that id is free: 400 alreadyExists if taken. */
  nextid(vmid?: number) {
    return this.call(S.vmidString, "GET", "/cluster/nextid", { vmid });
  }

  /** Every guest in the cluster (qemu and lxc); existence, tags and lock are immediate;
   * CPU and memory statistics lag by up to ~10 s. */
  async resourcesVm(): Promise<Result<S.ResourceVm[], PveError>> {
    const r = await this.call(S.resources, "GET", "/cluster/resources", { type: "vm" });
    if (!r.ok) return r;
    const out: S.ResourceVm[] = [];
    for (const [i, e] of r.value.entries()) {
      if (e.type !== "qemu" && e.type !== "lxc") continue;
      const p = safeParseBounded(S.resourceVm, e);
      if (!p.success) {
        return err(localError(
          "malformed",
          "GET /cluster/resources",
          `unexpected response: data[${i}]: ${p.message}`,
        ));
      }
      out.push(p.data);
    }
    return ok(out);
  }

  /** Every storage of every node with its `shared` flag (from /cluster/resources). */
  async resourcesStorage(): Promise<
    Result<{ node: string; storage: string; shared: boolean }[], PveError>
  > {
    const r = await this.call(S.resources, "GET", "/cluster/resources", { type: "storage" });
    if (!r.ok) return r;
    const out: { node: string; storage: string; shared: boolean }[] = [];
    for (const e of r.value as Record<string, unknown>[]) {
      if (e.type !== "storage" || typeof e.node !== "string" || typeof e.storage !== "string") {
        continue;
      }
      out.push({ node: e.node, storage: e.storage, shared: Number(e.shared ?? 0) === 1 });
    }
    return ok(out);
  }

  nodes() {
    return this.call(S.nodes, "GET", "/nodes");
  }

  qemuList(node: string) {
    return this.call(S.qemuList, "GET", `/nodes/${seg(node)}/qemu`);
  }

  vmConfig(node: string, vmid: number) {
    return this.call(S.vmConfig, "GET", `/nodes/${seg(node)}/qemu/${vmid}/config`);
  }

  vmStatus(node: string, vmid: number) {
    return this.call(S.vmStatus, "GET", `/nodes/${seg(node)}/qemu/${vmid}/status/current`);
  }

  /** POST create from scratch (task qmcreate). Sent once; an ambiguous failure must be resolved by the caller. */
  createVm(node: string, params: Params) {
    return this.call(S.upid, "POST", `/nodes/${seg(node)}/qemu`, params, { idempotent: false });
  }

  /** POST clone (task qmclone, UPID id = the source VMID). Sent once. */
  cloneVm(node: string, sourceVmid: number, params: Params) {
    return this.call(S.upid, "POST", `/nodes/${seg(node)}/qemu/${sourceVmid}/clone`, params, {
      idempotent: false,
    });
  }

  /**
   * Synchronous config change (PUT). With `digest` it is safe to repeat: a change that already
   * landed makes the digest stale and PVE refuses the repeat (`checksum mismatch`).
   */
  updateConfig(node: string, vmid: number, params: Params & { digest?: string }) {
    return this.call(S.nullData, "PUT", `/nodes/${seg(node)}/qemu/${vmid}/config`, params, {
      idempotent: typeof params.digest === "string" && params.digest !== "",
    });
  }

  /**
   * Grows a disk (task resize). Sent once like every task-starting call: the provider re-reads
   * the disk size and decides again, which is how a lost answer is recovered.
   */
  resize(node: string, vmid: number, disk: string, size: string) {
    return this.call(S.upid, "PUT", `/nodes/${seg(node)}/qemu/${vmid}/resize`, { disk, size }, {
      idempotent: false,
    });
  }

  power(node: string, vmid: number, action: "start" | "stop" | "shutdown", params: Params = {}) {
    return this.call(S.upid, "POST", `/nodes/${seg(node)}/qemu/${vmid}/status/${action}`, params, {
      idempotent: false,
    });
  }

  /** DELETE with purge and destroy-unreferenced-disks in the query string (task qmdestroy). */
  deleteVm(node: string, vmid: number) {
    return this.call(S.upid, "DELETE", `/nodes/${seg(node)}/qemu/${vmid}`, {
      purge: true,
      "destroy-unreferenced-disks": true,
    }, { idempotent: false });
  }

  /** Volumes on a host's storage (`content` e.g. snippets or iso). */
  storageContent(node: string, storage: string, content?: string) {
    return this.call(
      S.storageContent,
      "GET",
      `/nodes/${seg(node)}/storage/${seg(storage)}/content`,
      { content },
    );
  }

  /**
   * Uploads an ISO image to `storage` on `node` (multipart `content=iso` plus the file part, to the
   * `upload` endpoint of a storage with `iso` content) and awaits the copy task. Sent once; an
   * upload under the same name replaces the file, so the caller may simply upload again. The file
   * name is the only part of the upload PVE logs, so it must not carry a secret.
   */
  async uploadIso(
    node: string,
    storage: string,
    filename: string,
    bytes: Uint8Array,
    deadlineMs?: number,
  ): Promise<Result<TaskOutcome, PveError>> {
    const boundary = `proxscale-${crypto.randomUUID()}`;
    const enc = new TextEncoder();
    const safeName = filename.replace(/["\r\n\\]/g, "_");
    const head = enc.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="content"\r\n\r\niso\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="filename"; ` +
        `filename="${safeName}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    );
    const tail = enc.encode(`\r\n--${boundary}--\r\n`);
    const body = new Uint8Array(head.length + bytes.length + tail.length);
    body.set(head, 0);
    body.set(bytes, head.length);
    body.set(tail, head.length + bytes.length);
    const path = `/nodes/${seg(node)}/storage/${seg(storage)}/upload`;
    return await this.runTask(
      this.call(S.upid, "POST", path, undefined, {
        idempotent: false,
        raw: { contentType: `multipart/form-data; boundary=${boundary}`, bytes: body },
      }),
      `upload ${filename} to ${storage} on ${node}`,
      deadlineMs,
    );
  }

  /**
   * Deletes a volume (`<storage>:<type>/<name>`) from a host's storage and awaits the task
   * (imgdel); needs Datastore.Allocate. Used for seed ISOs, which no VM destroy removes.
   */
  async deleteVolume(
    node: string,
    storage: string,
    volid: string,
    deadlineMs?: number,
  ): Promise<Result<TaskOutcome, PveError>> {
    return await this.runTask(
      this.call(
        S.upid,
        "DELETE",
        `/nodes/${seg(node)}/storage/${seg(storage)}/content/${encodeURIComponent(volid)}`,
        undefined,
        { idempotent: false },
      ),
      `delete ${volid} on ${node}`,
      deadlineMs,
    );
  }

  taskStatus(node: string, upid: string) {
    return this.call(
      S.taskStatus,
      "GET",
      `/nodes/${seg(node)}/tasks/${encodeURIComponent(upid)}/status`,
    );
  }

  /**
   * Polls a task on the UPID's node until it stops or `deadlineMs` passes. OK and
   * `WARNINGS: n` are success; any other exitstatus is a classified error. A passed deadline is
   * `taskDeadline` (not a failure: the task may still finish) and carries the UPID.
   */
  async waitTask(
    upid: string,
    opts: { deadlineMs?: number; endpoint?: string } = {},
  ): Promise<Result<TaskOutcome, PveError>> {
    const info = parseUpid(upid);
    const endpoint = opts.endpoint ?? "task";
    if (!info) return err(localError("malformed", endpoint, `not a UPID: ${JSON.stringify(upid)}`));
    const deadline = this.#now() + (opts.deadlineMs ?? this.#task.deadlineMs);
    let interval = this.#task.pollMinMs;
    for (;;) {
      const s = await this.taskStatus(info.node, upid);
      if (!s.ok) {
        // Transient errors were already retried; give up polling only when the deadline passes.
        if (!RETRYABLE_KINDS.has(s.error.kind) && s.error.kind !== "circuitOpen") return s;
      } else if (s.value.status === "stopped") {
        const exit = s.value.exitstatus ?? "unexpected status";
        if (exit === "OK" || /^WARNINGS: \d+$/.test(exit)) return ok({ upid, exitstatus: exit });
        return err(taskError(endpoint, upid, exit));
      }
      const now = this.#now();
      if (now >= deadline) {
        return err(localError(
          "taskDeadline",
          endpoint,
          `task ${upid} still running after the deadline; it may still finish, keep watching it`,
          { upid },
        ));
      }
      await this.#sleep(Math.min(interval, Math.max(1, deadline - now)));
      interval = Math.min(this.#task.pollMaxMs, Math.ceil(interval * 1.5));
    }
  }

  /** Starts a task and awaits it; the endpoint in errors is the call that started it. */
  async runTask(
    start: Promise<Result<string, PveError>>,
    endpoint: string,
    deadlineMs?: number,
  ): Promise<Result<TaskOutcome, PveError>> {
    const s = await start;
    if (!s.ok) return s;
    return this.waitTask(s.value, {
      endpoint,
      ...(deadlineMs !== undefined ? { deadlineMs } : {}),
    });
  }
}

function trustMode(tls: TlsOptions): TrustMode {
  if (
    tls.fingerprint !== undefined && (typeof tls.fingerprint === "string" || tls.fingerprint.length)
  ) {
    return { mode: "fingerprint", fingerprints: [tls.fingerprint].flat() };
  }
  if (tls.caPem) return { mode: "ca", ca: tls.caPem };
  if (tls.insecureSkipVerify) return { mode: "insecure" };
  return { mode: "system" };
}

/** Path segment escape for node names and UPIDs. */
function seg(s: string): string {
  return encodeURIComponent(s);
}

function breakerKey(path: string): string {
  const m = /^\/nodes\/([^/]+)/.exec(path);
  return m ? decodeURIComponent(m[1]!) : "api";
}

/**
 * Checks a response's `data` against its schema: the data, or a typed `malformed` error naming
 * the first fields that are wrong. A body too large or too deeply nested for the schema
 * library's recursion is such an error too, never an exception.
 */
export function decodeData<T extends z.ZodType>(
  schema: T,
  data: unknown,
  endpoint: string,
): Result<z.output<T>, PveError> {
  const p = safeParseBounded(schema, data);
  return p.success
    ? ok(p.data)
    : err(localError("malformed", endpoint, `unexpected response: ${p.message}`));
}

function safeParseBounded<T extends z.ZodType>(
  schema: T,
  data: unknown,
): { success: true; data: z.output<T> } | { success: false; message: string } {
  try {
    const p = schema.safeParse(data);
    return p.success
      ? { success: true, data: p.data }
      : { success: false, message: describeIssues(p.error) };
  } catch (e) {
    if (e instanceof RangeError) {
      return { success: false, message: "data: too large or too deeply nested to check" };
    }
    throw e;
  }
}

function describeIssues(e: z.ZodError): string {
  return e.issues.slice(0, 3).map((i) => {
    const where = i.path.length ? `data.${i.path.join(".")}` : "data";
    return `${where}: ${i.message}`;
  }).join("; ");
}

/** Builds a client from a normalised Provider: resolves the secret and reads the CA file. */
export async function connectPveClient(
  provider: Provider,
  deps: SecretDeps & Omit<PveClientOptions, "endpoint" | "tokenId" | "tokenSecret" | "tls"> = {},
): Promise<Result<PveClient, SecretError>> {
  const secret = await readSecret(provider.tokenSecret, deps);
  if (!secret.ok) return secret;
  let caPem: string | undefined;
  if (provider.tls.caFile && !provider.tls.fingerprint) {
    try {
      caPem = await (deps.readTextFile ?? Deno.readTextFile)(provider.tls.caFile);
    } catch (e) {
      return err({
        kind: "SecretUnavailable",
        source: `CA file ${provider.tls.caFile}`,
        message: `CA file ${provider.tls.caFile} cannot be read (${
          e instanceof Error ? e.name : "error"
        })`,
      });
    }
  }
  const { readTextFile: _r, getEnv: _g, readKubeSecret: _k, ...rest } = deps;
  return ok(
    new PveClient({
      ...rest,
      endpoint: provider.endpoint,
      tokenId: provider.tokenId,
      tokenSecret: secret.value,
      tls: {
        ...(provider.tls.fingerprint ? { fingerprint: provider.tls.fingerprint } : {}),
        ...(caPem ? { caPem } : {}),
        insecureSkipVerify: provider.tls.insecureSkipVerify,
      },
    }),
  );
}

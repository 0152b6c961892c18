/**
 * Lease-based leader election on coordination.k8s.io/v1 (client-go's algorithm). The decisions
 * (create, acquire, renew, release, yield, follow) come from the pure core/leader.ts; this
 * adapter only does GET/POST/PUT, keeps time on the local clock, and tells the daemon when
 * leadership starts and stops. Callers gate every action on `isLeader()`, which turns false
 * by itself once renewDeadline passes without a successful renew, even if the API server is
 * unreachable and no request ever returns.
 *
 * Lease times are written as MicroTime with exactly six fractional digits (a real API
 * server refuses a JavaScript Date's three).
 */
import {
  afterWrite,
  decide,
  DEFAULT_LEADER_CONFIG,
  type ElectorState,
  initialElector,
  type LeaderConfig,
  type LeaderDecision,
  type LeaseRead,
  type LeaseRecord,
  mayAct,
  nextAttemptDelay,
  validateLeaderConfig,
  type WriteOutcome,
} from "../../core/leader.ts";
import { ok, type Result } from "../../core/result.ts";
import { sleep } from "./backoff.ts";
import { isConflict, isNotFound, type KubeClient, type KubeError } from "./client.ts";
import { type Log, silentLog } from "./log.ts";

/** `2026-11-26T03:40:32.182000Z`: what a metav1.MicroTime must look like on the wire. */
export function microTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export type LeaderElectorOptions = {
  client: KubeClient;
  namespace: string;
  /** Lease name, e.g. "proxscale-leader". */
  name: string;
  /** This replica's identity (pod name + random suffix). */
  identity: string;
  config?: LeaderConfig;
  now?: () => number;
  random?: () => number;
  log?: Log;
  onStartedLeading?: () => void;
  onStoppedLeading?: (why: string) => void;
  /** Told after every change of this replica's standing, with `leaderUntil()`. */
  onStanding?: (leaderUntil: number) => void;
};

type KubeLease = {
  metadata?: { resourceVersion?: string };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number | null;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number | null;
  };
};

function toRecord(l: KubeLease): LeaseRecord {
  const t = (s: string | null | undefined) => {
    const v = s ? Date.parse(s) : NaN;
    return Number.isNaN(v) ? null : v;
  };
  return {
    holderIdentity: l.spec?.holderIdentity ?? "",
    leaseDurationMs: (l.spec?.leaseDurationSeconds ?? 15) * 1000,
    acquireTime: t(l.spec?.acquireTime),
    renewTime: t(l.spec?.renewTime),
    leaseTransitions: l.spec?.leaseTransitions ?? 0,
  };
}

function toSpec(r: LeaseRecord) {
  return {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: Math.max(1, Math.ceil(r.leaseDurationMs / 1000)),
    ...(r.acquireTime !== null ? { acquireTime: microTime(r.acquireTime) } : {}),
    ...(r.renewTime !== null ? { renewTime: microTime(r.renewTime) } : {}),
    leaseTransitions: r.leaseTransitions,
  };
}

/** Runs the election loop for one replica. */
export class LeaderElector {
  readonly identity: string;
  #o: LeaderElectorOptions;
  #cfg: LeaderConfig;
  #state: ElectorState;
  #now: () => number;
  #random: () => number;
  #log: Log;
  #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #announced = false;
  #base: string;

  constructor(o: LeaderElectorOptions) {
    this.#o = o;
    this.identity = o.identity;
    this.#cfg = o.config ?? DEFAULT_LEADER_CONFIG;
    const problems = validateLeaderConfig(this.#cfg);
    if (problems.length) throw new Error(`Unsafe leader election timings: ${problems.join("; ")}`);
    this.#state = initialElector(o.identity);
    this.#now = o.now ?? Date.now;
    this.#random = o.random ?? Math.random;
    this.#log = o.log ?? silentLog;
    this.#base = `/apis/coordination.k8s.io/v1/namespaces/${o.namespace}/leases`;
  }

  /** Whether this replica may act as leader right now. */
  isLeader(): boolean {
    return mayAct(this.#state, this.#now(), this.#cfg);
  }

  /**
   * Until when (epoch ms, local clock) this replica may act without another successful renew;
   * 0 when it does not lead. `isLeader()` is `now < leaderUntil()`: another thread can share it.
   */
  leaderUntil(): number {
    const s = this.#state;
    return s.leading && s.renewedAt !== null ? s.renewedAt + this.#cfg.renewDeadline : 0;
  }

  /** Starts the loop; returns at once. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops the loop and, if this replica holds the lease, releases it for a fast handover. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    this.#loop = undefined;
    clearTimeout(this.#deadline);
    const read = await this.#get();
    if (read.ok) {
      const { state, decision } = decide(this.#state, read.value, this.#now(), this.#cfg, true);
      this.#state = state;
      this.#transition("stopping");
      if (decision.kind === "release") await this.#write(decision);
    } else {
      this.#state = { ...this.#state, leading: false, renewedAt: null };
      this.#transition("stopping");
    }
  }

  /** Requests time out well within the renew deadline, so a hung call cannot stall the loop. */
  async #request(
    method: "GET" | "POST" | "PUT",
    path: string,
    body?: unknown,
  ): Promise<Result<{ status: number; body: unknown }, KubeError>> {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), Math.max(50, this.#cfg.retryPeriod));
    try {
      return await this.#o.client.requestJson(method, path, {
        ...(body !== undefined ? { body } : {}),
        signal: ctl.signal,
      });
    } finally {
      clearTimeout(t);
    }
  }

  async #get(): Promise<Result<LeaseRead, KubeError>> {
    const r = await this.#request("GET", `${this.#base}/${this.#o.name}`);
    if (!r.ok) return isNotFound(r.error) ? ok(null) : r;
    const l = r.value.body as KubeLease;
    return ok({ record: toRecord(l), resourceVersion: l.metadata?.resourceVersion ?? "" });
  }

  async #write(d: LeaderDecision): Promise<WriteOutcome> {
    let r: Result<{ status: number; body: unknown }, KubeError>;
    const meta = { name: this.#o.name, namespace: this.#o.namespace };
    if (d.kind === "create") {
      r = await this.#request("POST", this.#base, {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: meta,
        spec: toSpec(d.record),
      });
    } else if (d.kind === "acquire" || d.kind === "renew" || d.kind === "release") {
      r = await this.#request("PUT", `${this.#base}/${this.#o.name}`, {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { ...meta, resourceVersion: d.resourceVersion },
        spec: toSpec(d.record),
      });
    } else return { ok: false, conflict: false };
    if (r.ok) {
      const rv = (r.value.body as KubeLease).metadata?.resourceVersion ?? "";
      return { ok: true, resourceVersion: rv };
    }
    const e = r.error;
    const conflict = isConflict(e) || (e.kind === "Status" && e.reason === "AlreadyExists");
    if (!conflict) {
      this.#log({
        level: "warn",
        msg: `lease ${d.kind} failed: ${
          e.kind === "Status" ? `${e.code} ${e.message}` : e.message
        }`,
        reason: "KubernetesError",
      });
    }
    return { ok: false, conflict };
  }

  /** Fires the callbacks when leadership starts or ends; arms the deadline timer. */
  #transition(why: string) {
    const leading = this.isLeader();
    if (leading && !this.#announced) {
      this.#announced = true;
      this.#log({ level: "info", msg: `became leader as ${this.identity}`, reason: "Leader" });
      this.#o.onStartedLeading?.();
    } else if (!leading && this.#announced) {
      this.#announced = false;
      this.#log({ level: "warn", msg: `stopped leading: ${why}`, reason: "LeaderLost" });
      this.#o.onStoppedLeading?.(why);
    }
    this.#o.onStanding?.(this.leaderUntil());
    clearTimeout(this.#deadline);
    if (leading && this.#state.renewedAt !== null) {
      const left = this.#state.renewedAt + this.#cfg.renewDeadline - this.#now();
      this.#deadline = setTimeout(
        () => this.#transition(`no successful renew within ${this.#cfg.renewDeadline} ms`),
        Math.max(0, left),
      );
    }
  }

  async #run(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      const read = await this.#get();
      if (this.#stop.signal.aborted) break;
      if (read.ok) {
        const decidedAt = this.#now();
        const { state, decision } = decide(this.#state, read.value, decidedAt, this.#cfg);
        this.#state = state;
        if (decision.kind === "yield") this.#transition(decision.why);
        const outcome = await this.#write(decision);
        this.#state = afterWrite(this.#state, decision, outcome, decidedAt);
        const why = outcome.ok
          ? "renewed"
          : outcome.conflict
          ? "lost the lease to another replica"
          : "renew failed";
        this.#transition(why);
      } else {
        this.#log({
          level: "warn",
          msg: `lease read failed: ${read.error.message}`,
          reason: "KubernetesError",
        });
      }
      await sleep(nextAttemptDelay(this.#state, this.#cfg, this.#random()), this.#stop.signal);
    }
  }
}

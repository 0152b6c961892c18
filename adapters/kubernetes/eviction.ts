/**
 * PDB-aware eviction, as Karpenter's termination controller does it. Each pod is evicted
 * through the policy/v1 Eviction subresource with a UID precondition:
 *
 * - 201: evicted.  404: the pod is already gone.  409: a different pod now has the name.
 * - 429 (a PodDisruptionBudget forbids it) and 500 "more than one PodDisruptionBudget":
 *   retried with per-pod exponential backoff (100 ms doubling to 10 s) and a global rate limit.
 * - anything else: retried the same way, reported if it persists.
 *
 * A pod is never deleted past its PDB unless the caller asked for `force` (the NodePool's
 * terminationGracePeriod or drainTimeoutAction: force); without it a budget that never allows
 * the eviction ends in a `Blocked` value carrying the PDB's own message.
 */
import { err, ok, type Result } from "../../core/result.ts";
import { type Backoff, backoffDelay, sleep } from "./backoff.ts";
import { type KubeClient, type KubeError } from "./client.ts";
import { type Log, silentLog } from "./log.ts";

const podPath = (p: EvictTarget) =>
  `/api/v1/namespaces/${encodeURIComponent(p.namespace)}/pods/${encodeURIComponent(p.name)}`;

/** Which pod: the UID makes sure a re-created pod with the same name is not evicted instead. */
export type EvictTarget = { namespace: string; name: string; uid?: string };

export type EvictOptions = {
  /** Give up (or force, if asked) after this long; default 10 min. */
  deadlineMs?: number;
  /** Delete the pod once the deadline passes even though a PDB still forbids eviction. */
  force?: boolean;
  /** Grace period for the eviction's delete; default: the pod's own. */
  gracePeriodSeconds?: number;
  signal?: AbortSignal;
};

/** How an eviction ended. */
export type EvictOutcome = {
  result: "evicted" | "gone" | "replaced" | "forced";
  attempts: number;
};

/** Why it did not end: still blocked by a budget at the deadline, or an API failure. */
export type EvictError =
  | { kind: "Blocked"; attempts: number; message: string }
  | { kind: "Failed"; attempts: number; error: KubeError };

export type EvictorOptions = {
  log?: Log;
  random?: () => number;
  now?: () => number;
  /** Per-pod retry backoff; default 100 ms doubling to 10 s. */
  backoff?: Backoff;
  /** Global rate limit: at least this long between two eviction requests (default 20 ms). */
  minIntervalMs?: number;
  /** Called on every budget refusal, e.g. to emit a FailedDraining Event. */
  onBlocked?: (pod: EvictTarget, message: string) => void;
};

const MULTI_PDB = "more than one PodDisruptionBudget";

/** Evicts pods one request at a time under a shared rate limit. */
export class Evictor {
  #client: KubeClient;
  #o: EvictorOptions;
  #nextSlot = 0;
  #now: () => number;

  constructor(client: KubeClient, opts: EvictorOptions = {}) {
    this.#client = client;
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
  }

  async #rateLimit(signal?: AbortSignal) {
    const now = this.#now();
    const slot = Math.max(now, this.#nextSlot);
    this.#nextSlot = slot + (this.#o.minIntervalMs ?? 20);
    if (slot > now) await sleep(slot - now, signal);
  }

  /** Evicts one pod, retrying budget refusals until the deadline. */
  async evict(
    pod: EvictTarget,
    opts: EvictOptions = {},
  ): Promise<Result<EvictOutcome, EvictError>> {
    const log = this.#o.log ?? silentLog;
    const random = this.#o.random ?? Math.random;
    const backoff = this.#o.backoff ?? { initialMs: 100, maxMs: 10_000, factor: 2, jitter: 0.2 };
    const deadline = this.#now() + (opts.deadlineMs ?? 600_000);
    let lastBlock = "";
    let lastError: KubeError | undefined;
    for (let attempt = 1;; attempt++) {
      if (opts.signal?.aborted) {
        return err({
          kind: "Failed",
          attempts: attempt - 1,
          error: { kind: "Transport", message: "aborted" },
        });
      }
      await this.#rateLimit(opts.signal);
      const deleteOptions: Record<string, unknown> = {};
      if (pod.uid) deleteOptions.preconditions = { uid: pod.uid };
      if (opts.gracePeriodSeconds !== undefined) {
        deleteOptions.gracePeriodSeconds = opts.gracePeriodSeconds;
      }
      const r = await this.#client.requestJson("POST", `${podPath(pod)}/eviction`, {
        body: {
          apiVersion: "policy/v1",
          kind: "Eviction",
          metadata: { name: pod.name, namespace: pod.namespace },
          deleteOptions,
        },
      });
      if (r.ok) return ok({ result: "evicted", attempts: attempt });
      const e = r.error;
      if (e.kind === "Status" && e.code === 404) return ok({ result: "gone", attempts: attempt });
      if (e.kind === "Status" && e.code === 409) {
        return ok({ result: "replaced", attempts: attempt });
      }
      const blocked = e.kind === "Status" &&
        (e.code === 429 || (e.code === 500 && e.message.includes(MULTI_PDB)));
      if (blocked) {
        lastBlock = [e.message, ...e.causes].join(" ");
        this.#o.onBlocked?.(pod, lastBlock);
        log({
          level: "info",
          msg: `eviction of ${pod.namespace}/${pod.name} refused: ${lastBlock}`,
          reason: "PdbBlocked",
          pod: `${pod.namespace}/${pod.name}`,
          attempt,
        });
      } else {
        lastError = e;
        log({
          level: "warn",
          msg: `eviction of ${pod.namespace}/${pod.name} failed: ${
            e.kind === "Status" ? `${e.code} ${e.message}` : e.message
          }`,
          reason: "KubernetesError",
          pod: `${pod.namespace}/${pod.name}`,
          attempt,
        });
      }
      const wait = backoffDelay(attempt - 1, backoff, random());
      if (this.#now() + wait >= deadline) {
        if (opts.force) return await this.#forceDelete(pod, attempt, log);
        return err(
          lastBlock
            ? { kind: "Blocked", attempts: attempt, message: lastBlock }
            : { kind: "Failed", attempts: attempt, error: lastError! },
        );
      }
      await sleep(wait, opts.signal);
    }
  }

  /** The explicit override: delete past the budget, with at least 1 s of grace (never 0). */
  async #forceDelete(
    pod: EvictTarget,
    attempts: number,
    log: Log,
  ): Promise<Result<EvictOutcome, EvictError>> {
    log({
      level: "warn",
      msg: `deleting ${pod.namespace}/${pod.name} despite its disruption budget (force requested)`,
      reason: "DrainTimeout",
      pod: `${pod.namespace}/${pod.name}`,
    });
    const r = await this.#client.requestJson("DELETE", podPath(pod), {
      body: { gracePeriodSeconds: 1, ...(pod.uid ? { preconditions: { uid: pod.uid } } : {}) },
    });
    if (r.ok) return ok({ result: "forced", attempts });
    const k = r.error;
    if (k.kind === "Status" && (k.code === 404 || k.code === 409)) {
      return ok({ result: k.code === 404 ? "gone" : "replaced", attempts });
    }
    return err({ kind: "Failed", attempts, error: k });
  }
}

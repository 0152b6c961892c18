/**
 * What the Proxmox provider's steps share: the client, the Provider config, this process's
 * VMID ledger and in-flight launches, the injected clock, sleep and seeded randomness, and the
 * timings. Passed explicitly so each step (launch.ts, finish.ts, destroy.ts, provider_view.ts)
 * stays a plain function that a test can call.
 */
import type { Provider, Resources } from "../../core/model.ts";
import type { Result } from "../../core/result.ts";
import type { Rng } from "../../daemon/ports/clock.ts";
import type { PveClient } from "./client.ts";
import type { PveError } from "./errors.ts";
import type { ProviderError } from "../../daemon/ports/provider.ts";
import { pveFailure } from "./pve_failure.ts";
import type { Semaphore } from "./semaphore.ts";
import type { VmidLedger } from "./vmid_ledger.ts";

/** Deadlines, poll intervals and hold times, all in ms. */
export type Timings = {
  /** Deadline of a create or clone task; past it the launch is `InProgress`, not failed. */
  taskDeadline: number;
  /** Deadline of start, stop, resize and destroy tasks. */
  powerDeadline: number;
  /** How long an ambiguous create is watched for its VMID to appear. */
  ambiguousGrace: number;
  /** Poll interval while waiting for a VMID to appear or a lock to clear. */
  poll: number;
  /** Pause between launch attempts (doubled each time, jittered). */
  retryBase: number;
  /** How long a VMID stays reserved for a launch in flight. */
  vmidReservation: number;
  /** How long a freed VMID stays out of circulation (PVE reuses freed ids at once). */
  quarantine: number;
  /** How long an unfinished launch's footprint keeps counting on its host. */
  inFlight: number;
};

export const DEFAULT_TIMINGS: Timings = {
  taskDeadline: 10 * 60_000,
  powerDeadline: 3 * 60_000,
  ambiguousGrace: 3000,
  poll: 500,
  retryBase: 1000,
  vmidReservation: 15 * 60_000,
  quarantine: 5 * 60_000,
  inFlight: 15 * 60_000,
};

/** A launch this process started and PVE may not show yet (statistics lag, clone placeholder). */
export type InFlight = {
  host: string;
  footprint: Resources;
  vmid?: number;
  expires: number;
  /** The passthrough devices the launch takes on its host (a GPU shape), by mapping. */
  gpus?: { mapping: string; count: number; mdev?: string };
};

export type Ctx = {
  client: PveClient;
  provider: Provider;
  rng: Rng;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  t: Timings;
  ledger: VmidLedger;
  /** Host memory counted per VM beyond its configured memory, in inventory. */
  overhead: number;
  maxAttempts: number;
  inFlight: Map<string, InFlight>;
  /** Pause before retry `n` (1-based): exponential with jitter from `rng`. */
  backoff: (n: number) => number;
  /** The clone concurrency gate of a storage. */
  cloneGate: (storage: string) => Semaphore;
};

/** A PVE failure at a named step, as a provider error. */
export function pveFail(step: string, error: PveError): ProviderError {
  return { kind: "Api", step, error: pveFailure(error), message: `${step}: ${error.message}` };
}

/** PVE error kinds after which re-reading state and trying the step again is sensible. */
export const STEP_RETRY_KINDS: ReadonlySet<string> = new Set([
  "lockTimeout",
  "locked",
  "conflict",
  "transient",
  "connection",
  "timeout",
  "malformed",
]);

/**
 * Repeats an idempotent read while it fails for health reasons (the client already retried
 * each call; this rides out a longer bad patch between steps that must not be abandoned
 * half-way, such as the reads that decide a cleanup).
 */
export async function persist<T>(
  ctx: Ctx,
  op: () => Promise<Result<T, PveError>>,
  rounds = 4,
): Promise<Result<T, PveError>> {
  let r = await op();
  for (let i = 1; i < rounds && !r.ok && persistable(r.error); i++) {
    await ctx.sleep(ctx.backoff(i));
    r = await op();
  }
  return r;
}

function persistable(e: PveError): boolean {
  return STEP_RETRY_KINDS.has(e.kind) || e.kind === "circuitOpen" || e.ambiguous === true;
}

/**
 * Reading the configs of many VMs for one listing, a few at a time. One after another, a
 * daemon's first pass over 1,000 managed VMs (or the first pass of a new leader) waited for
 * 1,000 round trips to pveproxy before it could decide anything; all at once, it would open a
 * connection per VM. A host whose read fails as down (timeout, refused, breaker open) gets no
 * more reads in this listing: each would wait for the same timeout.
 *
 * May import: core/, adapters/proxmox/.
 */
import type { Result } from "../../core/result.ts";
import { HOST_DOWN_KINDS, type PveError } from "./errors.ts";
import { Semaphore } from "./semaphore.ts";

/** Config reads in flight at once: pveproxy serves a few requests in parallel (3 workers). */
export const CONFIG_READS_IN_FLIGHT = 4;

/** The VM fields a read needs. */
export type ConfigTarget = { node: string; vmid: number };

/**
 * Reads every target's config with at most `inFlight` reads at once, in the targets' order.
 * The answer holds each target that was read (a target not in it was skipped: its host failed
 * as down first).
 */
export async function readConfigs<C>(
  targets: readonly ConfigTarget[],
  read: (t: ConfigTarget) => Promise<Result<C, PveError>>,
  inFlight = CONFIG_READS_IN_FLIGHT,
): Promise<Map<number, Result<C, PveError>>> {
  const out = new Map<number, Result<C, PveError>>();
  const downHosts = new Set<string>();
  // Permits go in the order asked: reads start in the targets' order.
  const gate = new Semaphore(inFlight);
  await Promise.all(targets.map(async (t) => {
    const release = await gate.acquire();
    try {
      if (downHosts.has(t.node)) return;
      const r = await read(t);
      out.set(t.vmid, r);
      if (!r.ok && HOST_DOWN_KINDS.has(r.error.kind)) downHosts.add(t.node);
    } finally {
      release();
    }
  }));
  return out;
}

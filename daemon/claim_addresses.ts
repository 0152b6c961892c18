/**
 * Static addresses for a launch: before a VM is made, its NodeClaim gets one address per pooled
 * NIC (core/ipam.ts), written on the claim's status before anything is sent to the provider, so
 * a crash after the write resumes with the same addresses and a crash before it leaves nothing
 * held. Allocations in this process run one at a time and each reads the live NodeClaims from
 * the API server (not a cache), so two launches never choose from the same stale view; only the
 * leader runs launches. An address is freed when its claim is gone, and a claim goes only after
 * its VM was destroyed (the finalizer), so no address is ever on two live VMs.
 *
 * May import: core/, daemon/.
 */
import type { ClaimAddress, NodeClaim } from "../core/model.ts";
import {
  type AddressHolder,
  allocateAddresses,
  ipPoolExhaustedReason,
  type PooledNic,
} from "../core/ipam.ts";
import { type Reason, reason } from "../core/reason.ts";
import { err, ok, type Result } from "../core/result.ts";

/** What an allocation reads and writes; the daemon backs these with the API server and PVE. */
export type AddressPorts = {
  /** The live NodeClaims (deleting ones included) of the claim's Provider, read fresh. */
  liveClaims(): Promise<Result<readonly AddressHolder[], Reason>>;
  /** Addresses VMs proxscale does not own use on the Provider (their cloud-init config). */
  foreignAddresses(): Promise<Result<readonly string[], Reason>>;
  /** Writes the addresses on the claim's status; fails when the claim is gone. */
  record(claim: string, addresses: ClaimAddress[]): Promise<Result<void, Reason>>;
};

/** Why a claim got no addresses: a pool has none free, the claim is gone, or a read failed. */
export type AddressFailure =
  | { kind: "Exhausted"; pool: string; reason: Reason }
  | { kind: "Gone"; reason: Reason }
  | { kind: "Failed"; reason: Reason };

/** Serialises allocations in one process: each starts after the previous one ended. */
export class AddressAllocator {
  #tail: Promise<unknown> = Promise.resolve();

  /**
   * The claim's addresses for `nics`: the ones it holds, or new ones recorded on it before
   * this returns. Nothing is recorded on failure.
   */
  ensure(
    claim: Pick<NodeClaim, "name" | "provider">,
    nics: readonly PooledNic[],
    ports: AddressPorts,
  ): Promise<Result<ClaimAddress[], AddressFailure>> {
    if (nics.length === 0) return Promise.resolve(ok([]));
    const run = this.#tail.then(() => allocateOnce(claim, nics, ports));
    this.#tail = run.catch(() => undefined);
    return run;
  }
}

async function allocateOnce(
  claim: Pick<NodeClaim, "name" | "provider">,
  nics: readonly PooledNic[],
  ports: AddressPorts,
): Promise<Result<ClaimAddress[], AddressFailure>> {
  const live = await ports.liveClaims();
  if (!live.ok) return err({ kind: "Failed", reason: live.error });
  const own = live.value.find((h) => h.claim === claim.name);
  if (!own) {
    return err({
      kind: "Gone",
      reason: reason("Finalizing", `NodeClaim ${claim.name} is gone; no address is taken for it`),
    });
  }
  const holds = (a: ClaimAddress[]) =>
    a.every((x) => own.addresses.some((o) => o.slot === x.slot && o.address === x.address));
  // A claim that holds an address for every NIC keeps them without asking PVE anything.
  const kept = allocateAddresses({ claim: claim.name, nics, held: live.value, foreign: [] });
  if (kept.ok && holds(kept.value)) return kept;
  const foreign = await ports.foreignAddresses();
  if (!foreign.ok) return err({ kind: "Failed", reason: foreign.error });
  const chosen = allocateAddresses({
    claim: claim.name,
    nics,
    held: live.value,
    foreign: foreign.value,
  });
  if (!chosen.ok) {
    return err({
      kind: "Exhausted",
      pool: chosen.error.pool,
      reason: ipPoolExhaustedReason(chosen.error, claim.provider),
    });
  }
  if (holds(chosen.value)) return chosen;
  const w = await ports.record(claim.name, chosen.value);
  if (!w.ok) return err({ kind: "Failed", reason: w.error });
  return chosen;
}

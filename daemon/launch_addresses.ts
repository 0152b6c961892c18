/**
 * The launch job's static-address step over the daemon's clients: the live NodeClaims from the
 * API server, the addresses the Provider's VMs use from PVE, and the write of the claim's
 * addresses on its status (daemon/claim_addresses.ts decides the order). The result is the
 * template the VM is made from, its pooled NICs addressed (core/ipam.ts), so the NoCloud
 * network-config and PVE's `ipconfigN` both carry the address.
 *
 * May import: core/, adapters/, daemon/.
 */
import type { MachineTemplate, NodeClaim } from "../core/model.ts";
import { pooledNics, templateWithAddresses } from "../core/ipam.ts";
import { reason } from "../core/reason.ts";
import { err, ok, type Result } from "../core/result.ts";
import { describeKubeError } from "../adapters/kubernetes/client.ts";
import { nodeClaimFromKube } from "../adapters/kubernetes/translate.ts";
import { setNodeClaimStatus } from "../adapters/kubernetes/nodeclaim_writer.ts";
import { AddressAllocator, type AddressFailure, type AddressPorts } from "./claim_addresses.ts";
import type { DaemonContext } from "./context.ts";

/** One allocator per daemon context: allocations of one process run one at a time. */
const allocators = new WeakMap<DaemonContext, AddressAllocator>();

function allocatorFor(ctx: DaemonContext): AddressAllocator {
  let a = allocators.get(ctx);
  if (!a) allocators.set(ctx, a = new AddressAllocator());
  return a;
}

/** The ports of an allocation for a claim of `provider`, over the daemon's clients. */
export function addressPorts(ctx: DaemonContext, provider: string): AddressPorts {
  return {
    liveClaims: async () => {
      const r = await ctx.kube.requestJson("GET", "/apis/proxscale.io/v1alpha1/nodeclaims");
      if (!r.ok) return err(reason("KubernetesError", describeKubeError(r.error)));
      const items = (r.value.body as { items?: unknown[] }).items ?? [];
      const out = [];
      for (const item of items) {
        const c = nodeClaimFromKube(item);
        if (!c.ok) {
          // A claim that cannot be read may hold addresses: nothing is handed out meanwhile.
          return err(reason("KubernetesError", `a NodeClaim cannot be read: ${c.error}`));
        }
        if (c.value.provider === provider) {
          out.push({ claim: c.value.name, addresses: c.value.addresses ?? [] });
        }
      }
      return ok(out);
    },
    foreignAddresses: async () => {
      const p = ctx.providers.get(provider);
      if (!p?.vmAddresses) return ok([]);
      const r = await p.vmAddresses();
      return r.ok ? r : err(reason("ProviderError", r.error.message));
    },
    record: async (claim, addresses) => {
      const w = await setNodeClaimStatus(ctx.kube, claim, { addresses }, ctx.clock.now);
      return w.ok ? ok(undefined) : err(reason("KubernetesError", describeKubeError(w.error)));
    },
  };
}

/**
 * The template the claim's VM is made from: unchanged without pooled NICs, else with the
 * claim's static addresses (held, or allocated and recorded on the claim now).
 */
export async function addressedTemplate(
  ctx: DaemonContext,
  claim: NodeClaim,
  template: MachineTemplate,
): Promise<Result<MachineTemplate, AddressFailure>> {
  if (!template.network.some((n) => n.ipPool !== undefined)) return ok(template);
  const pools = ctx.config().providers.find((p) => p.name === claim.provider)?.ipPools ?? [];
  const nics = pooledNics(template, pools);
  if (!nics.ok) return err({ kind: "Failed", reason: nics.error });
  const got = await allocatorFor(ctx).ensure(claim, nics.value, addressPorts(ctx, claim.provider));
  return got.ok ? ok(templateWithAddresses(template, pools, got.value)) : got;
}

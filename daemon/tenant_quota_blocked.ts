/**
 * The count of pods a tenant quota holds back, per tenant, for
 * `proxscale_tenant_quota_blocked_pods{tenant}`. Each such pod also gets a TenantQuotaReached
 * Event (Warning) on itself, written with every other reason a pod waits for
 * (daemon/pod_wait_events.ts).
 *
 * May import: core/, adapters/, daemon/.
 */
import type { ProvisionPlan } from "../core/provisioning.ts";
import type { Config, Snapshot } from "../core/model.ts";
import { tenantOfNamespace } from "../core/tenancy.ts";

/** Pods held back by a tenant quota this pass, per tenant (every configured tenant listed). */
export function quotaBlockedByTenant(
  config: Config,
  plan: ProvisionPlan,
  namespaceLabels?: Snapshot["namespaceLabels"],
): { tenant: string; pods: number }[] {
  const counts = new Map((config.tenants ?? []).map((t) => [t.name, 0]));
  for (const u of plan.unhelped) {
    if (u.reason.code !== "TenantQuotaReached") continue;
    const ns = u.pod.slice(0, u.pod.indexOf("/"));
    const tenant =
      tenantOfNamespace({ tenants: config.tenants ?? [], namespaceLabels }, ns)?.name ??
        "";
    counts.set(tenant, (counts.get(tenant) ?? 0) + 1);
  }
  return [...counts].map(([tenant, pods]) => ({ tenant, pods }));
}

/**
 * Tells a tenant's users why their pod gets no VM when a tenant quota stops it: one Event
 * (reason TenantQuotaReached, Warning) in the pod's namespace per pod and message, written again
 * only when the message changes, and the count of such pods per tenant for
 * `proxscale_tenant_quota_blocked_pods{tenant}`.
 *
 * May import: core/, adapters/, daemon/.
 */
import type { ProvisionPlan } from "../core/provisioning.ts";
import type { Config, Snapshot } from "../core/model.ts";
import { tenantOfNamespace } from "../core/tenancy.ts";
import type { EventRecorder } from "../adapters/kubernetes/events.ts";

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

/** Records the quota Events of each pass, once per pod and message. */
export class TenantQuotaEvents {
  #said = new Map<string, string>();

  constructor(private readonly events: EventRecorder | undefined) {}

  /** Writes an Event for each pod newly held back by a tenant quota. */
  async observe(plan: ProvisionPlan, snapshot: Snapshot): Promise<void> {
    const now = new Map<string, string>();
    for (const u of plan.unhelped) {
      if (u.reason.code === "TenantQuotaReached") now.set(u.pod, u.reason.message);
    }
    for (const key of [...this.#said.keys()]) if (!now.has(key)) this.#said.delete(key);
    if (!this.events || now.size === 0) return;
    const uids = new Map<string, string>();
    for (const p of snapshot.pods) {
      if (now.has(`${p.namespace}/${p.name}`)) uids.set(`${p.namespace}/${p.name}`, p.uid);
    }
    for (const [key, message] of now) {
      if (this.#said.get(key) === message) continue;
      const slash = key.indexOf("/");
      const uid = uids.get(key);
      const r = await this.events.record(
        {
          apiVersion: "v1",
          kind: "Pod",
          namespace: key.slice(0, slash),
          name: key.slice(slash + 1),
          ...(uid ? { uid } : {}),
        },
        { code: "TenantQuotaReached", message },
      );
      if (r.ok) this.#said.set(key, message);
    }
  }
}

/**
 * Tenancy: which tenant a pod belongs to (by its namespace), which NodePools may make nodes for
 * it, and the label and taint a tenant pool's nodes carry. A pool without tenancy is open to
 * every pod; a pool owned by tenant A takes only A's pods; a shared pool of A also takes the pods
 * of the tenants A lists under sharing. Without any Tenant nothing here changes a decision.
 *
 * May import: ./model.ts, ./labels.ts, ./reason.ts.
 */
import type { NodePool, PoolTenancy, Taint, Tenant } from "./model.ts";
import { TENANT_LABEL_KEY, TENANT_SHARED_LABEL_KEY } from "./labels.ts";
import { type Reason, reason } from "./reason.ts";

/** The tenants, and the namespaces' labels for tenants that select namespaces by label. */
export type TenancyView = {
  tenants: readonly Tenant[];
  namespaceLabels?: Readonly<Record<string, Readonly<Record<string, string>>>> | undefined;
};

/**
 * The tenant `namespace` belongs to, if any: the tenant listing it, else the first tenant (in
 * configuration order) whose namespaceSelector its labels match.
 */
export function tenantOfNamespace(
  view: TenancyView | undefined,
  namespace: string,
): Tenant | undefined {
  const tenants = view?.tenants ?? [];
  for (const t of tenants) if (t.namespaces.includes(namespace)) return t;
  const labels = view?.namespaceLabels?.[namespace];
  if (!labels) return undefined;
  for (const t of tenants) {
    const sel = t.namespaceSelector;
    if (sel && Object.entries(sel).every(([k, v]) => labels[k] === v)) return t;
  }
  return undefined;
}

/** The node label key of a tenant pool: proxscale.io/tenant, or -shared for a shared pool. */
export function tenancyKey(t: PoolTenancy): string {
  return t.shared ? TENANT_SHARED_LABEL_KEY : TENANT_LABEL_KEY;
}

/** The label every node of a tenant pool carries (value: the owning tenant). */
export function tenancyLabels(t: PoolTenancy): Record<string, string> {
  return { [tenancyKey(t)]: t.tenant };
}

/** The NoSchedule taint every node of a tenant pool carries (value: the owning tenant). */
export function tenancyTaint(t: PoolTenancy): Taint {
  return { key: tenancyKey(t), value: t.tenant, effect: "NoSchedule" };
}

/**
 * Undefined when `pool` may make a node for a pod of `namespace`; otherwise why not. An open
 * pool takes every pod; a tenant pool its owner's pods, and when shared, those of the tenants
 * the owner lists under sharing.
 */
export function poolRefusesNamespace(
  pool: NodePool,
  view: TenancyView | undefined,
  namespace: string,
): Reason | undefined {
  const t = pool.tenancy;
  if (!t) return undefined;
  const mine = tenantOfNamespace(view, namespace);
  if (mine?.name === t.tenant) return undefined;
  const owner = view?.tenants.find((x) => x.name === t.tenant);
  if (t.shared && mine && owner?.sharing.includes(mine.name)) return undefined;
  const whose = mine ? `tenant '${mine.name}'` : "no tenant";
  return reason(
    "TenantNotAllowed",
    t.shared
      ? `pool '${pool.name}' is tenant '${t.tenant}''s, shared with ${
        owner?.sharing.length ? owner.sharing.map((s) => `'${s}'`).join(", ") : "no tenant"
      }; namespace '${namespace}' belongs to ${whose}`
      : `pool '${pool.name}' belongs to tenant '${t.tenant}'; namespace '${namespace}' belongs to ${whose}`,
  );
}

/**
 * Undefined when a pod of `namespace` may run on a node with `labels`: a node of a tenant pool
 * (by its tenant label) takes the owner's pods, and a shared one also its sharing tenants'.
 */
export function nodeRefusesNamespace(
  labels: Readonly<Record<string, string>>,
  view: TenancyView | undefined,
  namespace: string,
): boolean {
  if (!view?.tenants.length) return false;
  const own = labels[TENANT_LABEL_KEY];
  const shared = labels[TENANT_SHARED_LABEL_KEY];
  if (own === undefined && shared === undefined) return false;
  const mine = tenantOfNamespace(view, namespace)?.name;
  if (own !== undefined && own !== mine) return true;
  if (shared !== undefined && shared !== mine) {
    const owner = view.tenants.find((x) => x.name === shared);
    if (!mine || !owner?.sharing.includes(mine)) return true;
  }
  return false;
}

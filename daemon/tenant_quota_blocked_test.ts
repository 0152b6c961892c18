import assert from "node:assert/strict";
import type { ProvisionPlan } from "../core/provisioning.ts";
import type { Reason } from "../core/reason.ts";
import { testConfig } from "../core/testing/arbitraries.ts";
import { quotaBlockedByTenant } from "./tenant_quota_blocked.ts";

const quota = (message: string): Reason => ({ code: "TenantQuotaReached", message });
const plan = (unhelped: ProvisionPlan["unhelped"]): ProvisionPlan => ({
  claims: [],
  placements: [],
  unhelped,
});

Deno.test("the blocked-pods gauge counts held-back pods per tenant, every tenant listed", () => {
  const config = testConfig({
    tenants: [
      { name: "team-a", namespaces: ["a"], quota: {}, sharing: [] },
      { name: "team-b", namespaces: ["b"], quota: {}, sharing: [] },
    ],
  });
  const rows = quotaBlockedByTenant(
    config,
    plan([
      { pod: "b/web-1", reason: quota("q") },
      { pod: "b/web-2", reason: quota("q") },
      { pod: "a/web-1", reason: { code: "NoShapeFits", message: "too big" } },
    ]),
  );
  assert.deepEqual(rows, [{ tenant: "team-a", pods: 0 }, { tenant: "team-b", pods: 2 }]);
});

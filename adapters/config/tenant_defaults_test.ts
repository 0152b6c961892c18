/**
 * Tests of tenant_defaults.ts through the YAML loader: a tenant's pool takes the tenant's
 * defaults for what it leaves unset, its own values win, the global defaults come last, a pool
 * left without a template is refused at file:line:col naming it, and an invalid tenant default
 * is reported once, at the tenant.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { formatProblem, parseConfigText } from "./load.ts";
import { applyTenantDefaults } from "./tenant_defaults.ts";

const BASE = `providers:
  - name: home
    spec:
      endpoint: https://pve.example:8006/
      tokenId: root@pam!proxscale
      tokenSecret: { file: /etc/proxscale/token }
      hosts:
        - name: pve1
      vmidRange: { lower: 9000, upper: 9099 }
machineTemplates:
  - name: worker
    spec:
      provider: home
      source: { clone: { templateVmid: 8000 } }
      shapes: [{ cpu: 2, memory: 4Gi }]
  - name: big
    spec:
      provider: home
      source: { clone: { templateVmid: 8001 } }
      shapes: [{ cpu: 8, memory: 32Gi }]
`;

const TENANT = `tenants:
  - name: team-a
    spec:
      namespaces: [a]
      defaults:
        machineTemplate: big
        weight: 70
        disruption:
          budgets: [{ nodes: "1" }]
          consolidationPolicy: WhenEmpty
          consolidateAfter: 5m
`;

/** A configuration with the given nodePools block (and tenants block). */
const config = (pools: string, tenants = TENANT) => BASE + pools + tenants;

function load(text: string) {
  const r = parseConfigText(text, "c.yaml");
  assert.ok(r.ok, r.ok ? "" : r.error.map(formatProblem).join("\n"));
  return r.value;
}

Deno.test("a tenant's pool that sets nothing takes every default of its tenant", () => {
  const c = load(config(`nodePools:
  - name: pool-a
    spec:
      tenancy: { tenant: team-a }
`));
  const p = c.nodePools[0]!;
  assert.equal(p.machineTemplate, "big");
  assert.equal(p.weight, 70);
  assert.deepEqual(p.disruption.budgets, [{ nodes: "1" }]);
  assert.equal(p.disruption.consolidationPolicy, "WhenEmpty");
  assert.equal(p.disruption.consolidateAfter, 300_000);
  // Fields the tenant does not default keep the global defaults.
  assert.equal(p.disruption.expireAfter, 720 * 3_600_000);
});

Deno.test("the pool's own values win over its tenant's defaults, field by field", () => {
  const c = load(config(`nodePools:
  - name: pool-a
    spec:
      machineTemplate: worker
      weight: 5
      tenancy: { tenant: team-a }
      disruption: { consolidateAfter: 30s }
`));
  const p = c.nodePools[0]!;
  assert.equal(p.machineTemplate, "worker");
  assert.equal(p.weight, 5);
  assert.equal(p.disruption.consolidateAfter, 30_000);
  // The pool's disruption map sets consolidateAfter only: the rest comes from the tenant.
  assert.equal(p.disruption.consolidationPolicy, "WhenEmpty");
  assert.deepEqual(p.disruption.budgets, [{ nodes: "1" }]);
});

Deno.test("the global defaults apply last: to open pools and to what the tenant leaves unset", () => {
  const c = load(config(
    `nodePools:
  - name: open
    spec:
      machineTemplate: worker
  - name: pool-a
    spec:
      tenancy: { tenant: team-a }
`,
    `tenants:
  - name: team-a
    spec:
      namespaces: [a]
      defaults: { machineTemplate: big }
`,
  ));
  const [open, owned] = c.nodePools;
  assert.equal(owned!.machineTemplate, "big");
  for (const p of [open!, owned!]) {
    assert.equal(p.weight, 10);
    assert.deepEqual(p.disruption.budgets, [{ nodes: "10%" }]);
    assert.equal(p.disruption.consolidationPolicy, "WhenEmptyOrUnderutilized");
    assert.equal(p.disruption.consolidateAfter, 0);
  }
  // An open pool never takes a tenant's defaults.
  assert.equal(open!.machineTemplate, "worker");
});

Deno.test("a pool with no template is refused at its spec, naming the pool and its tenant", () => {
  const owned = parseConfigText(
    config(
      `nodePools:
  - name: pool-a
    spec:
      tenancy: { tenant: team-a }
`,
      `tenants:
  - name: team-a
    spec: { namespaces: [a], defaults: { weight: 3 } }
`,
    ),
    "c.yaml",
  );
  assert.ok(!owned.ok);
  assert.deepEqual(owned.error.map(formatProblem), [
    'c.yaml:24:7: nodePools[0].spec: NodePool "pool-a" has no machineTemplate and its Tenant ' +
    '"team-a" has no defaults.machineTemplate: name one in either',
  ]);
  const open = parseConfigText(
    config(`nodePools:\n  - name: open\n    spec: { minNodes: 1 }\n`, ""),
    "c.yaml",
  );
  assert.ok(!open.ok);
  assert.deepEqual(open.error.map(formatProblem), [
    'c.yaml:23:11: nodePools[0].spec: NodePool "open" has no machineTemplate: name one, or ' +
    "own the pool by a Tenant whose defaults.machineTemplate names one",
  ]);
});

Deno.test("a tenant default naming a missing template is reported at the tenant and at the pool that took it", () => {
  const r = parseConfigText(
    config(
      `nodePools:
  - name: pool-a
    spec:
      tenancy: { tenant: team-a }
`,
      TENANT.replace("machineTemplate: big", "machineTemplate: huge"),
    ),
    "c.yaml",
  );
  assert.ok(!r.ok);
  const got = r.error.map((p) => `${p.path}: ${p.message}`);
  assert.deepEqual(got.sort(), [
    'nodePools[0].spec.machineTemplate: no MachineTemplate named "huge" (the default of ' +
    'Tenant "team-a") (known: worker, big)',
    'tenants[0].spec.defaults.machineTemplate: no MachineTemplate named "huge" (known: worker, big)',
  ]);
});

Deno.test("an invalid tenant default is reported once, at the tenant, and not copied into its pools", () => {
  const r = parseConfigText(
    config(
      `nodePools:
  - name: pool-a
    spec:
      tenancy: { tenant: team-a }
`,
      TENANT.replace("weight: 70", "weight: 700"),
    ),
    "c.yaml",
  );
  assert.ok(!r.ok);
  assert.deepEqual(r.error.map((p) => p.path), ["tenants[0].spec.defaults.weight"]);
  assert.match(r.error[0]!.message, /at most 100/);
});

Deno.test("the merge leaves its input unchanged and lists what each pool inherited", () => {
  const input = {
    nodePools: [
      { name: "p", spec: { tenancy: { tenant: "t" }, disruption: { budgets: [] } } },
      { name: "q", spec: { tenancy: { tenant: "nobody" } } },
    ],
    tenants: [{
      name: "t",
      spec: { defaults: { weight: 9, disruption: { budgets: [{ nodes: "2" }] } } },
    }],
  };
  const before = structuredClone(input);
  const m = applyTenantDefaults(input);
  assert.deepEqual(input, before);
  assert.deepEqual(m.inherited, [{ pool: 0, field: "weight", tenant: "t" }]);
  const pools = (m.value as typeof input).nodePools;
  assert.deepEqual(pools[0]!.spec, {
    tenancy: { tenant: "t" },
    weight: 9,
    disruption: { budgets: [] },
  });
  // A pool of an unknown tenant is left for the cross-checks to report.
  assert.equal(pools[1], input.nodePools[1]);
});

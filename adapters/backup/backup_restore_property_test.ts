/**
 * Property: restoring a backup of any generated configuration gives back the same
 * configuration. A generated configuration (Providers, MachineTemplates, NodePools with their
 * tenancy and consolidation policy, Tenants with quotas, sharing and defaults, settings)
 * is turned into the objects an API server would list (with server-set metadata, status,
 * managedFields and NodeClaims beside them), backed up the way `proxscale backup` does,
 * written and read back as the file, and restored into an empty cluster: the objects restore
 * applies load to the same core Config, carry the same specs, and a second restore over them
 * changes nothing. NodeClaims are never in what restore applies, and no Secret value is in the
 * file.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { configFromObjects } from "../config/crd_source.ts";
import { manifestsFromConfig, type WrittenConfig } from "../config/crd_manifests.ts";
import {
  type Backup,
  BACKUP_API_VERSION,
  BACKUP_FORMAT_VERSION,
  BACKUP_KIND,
  cleanObject,
  configObjectsOf,
  objectKey,
  parseBackup,
  renderBackup,
  restorePlan,
  secretRefsOf,
} from "./backup_file.ts";

const dns = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}[a-z0-9]$/);
const hex2 = fc.integer({ min: 0, max: 255 }).map((n) => n.toString(16).padStart(2, "0"));
const SECRET_VALUE = "s3cr3t-token-value-never-in-a-backup";

const secretSource = fc.oneof(
  fc.record({ env: fc.constantFrom("PVE_TOKEN", "TOKEN_B") }),
  fc.record({ file: fc.constantFrom("/etc/proxscale/token", "/run/secrets/pve") }),
  fc.record({
    secret: fc.record({ namespace: dns, name: dns, key: fc.constantFrom("token", "secret") }),
  }),
);

const labels = fc.dictionary(
  fc.stringMatching(/^[a-z]{1,6}(\.io\/[a-z]{1,6})?$/),
  fc.stringMatching(/^[a-z0-9]{0,8}$/),
  { maxKeys: 3 },
).map((d) => ({ ...d }));

/** A configuration as written (the shape `migrate` and the CRDs carry). */
const writtenConfig: fc.Arbitrary<WrittenConfig> = fc.record({
  providerNames: fc.uniqueArray(dns, { minLength: 1, maxLength: 2 }),
  hostNames: fc.uniqueArray(dns, { minLength: 1, maxLength: 3 }),
  lower: fc.integer({ min: 100, max: 5000 }),
  span: fc.integer({ min: 0, max: 5000 }),
  fingerprint: fc.array(hex2, { minLength: 32, maxLength: 32 }).map((a) => a.join(":")),
  secret: secretSource,
  placement: fc.constantFrom("leastAllocated", "mostAllocated", "spread"),
  templates: fc.uniqueArray(
    fc.record({
      name: dns,
      shapes: fc.array(
        fc.record({
          cpu: fc.integer({ min: 1, max: 16 }),
          memoryGi: fc.integer({ min: 1, max: 64 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      full: fc.boolean(),
      labels,
      tags: fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,6}$/), { maxLength: 2 }),
    }),
    { minLength: 1, maxLength: 3, selector: (t) => t.name },
  ),
  pools: fc.uniqueArray(
    fc.record({
      name: dns,
      template: fc.nat(),
      weight: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
      nodes: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }),
      minNodes: fc.integer({ min: 0, max: 3 }),
      labels,
      taint: fc.option(fc.constantFrom("NoSchedule", "PreferNoSchedule", "NoExecute"), {
        nil: undefined,
      }),
      policy: fc.constantFrom("WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced"),
      threshold: fc.option(fc.constantFrom(0.5, 2, 3.5), { nil: undefined }),
      tenant: fc.option(fc.record({ at: fc.nat(), shared: fc.boolean() }), { nil: undefined }),
      after: fc.constantFrom("0s", "30s", "5m", "Never"),
      paused: fc.option(fc.boolean(), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 3, selector: (p) => p.name },
  ),
  tenants: fc.uniqueArray(
    fc.record({
      name: dns,
      namespaces: fc.uniqueArray(dns, { maxLength: 3 }),
      cpu: fc.option(fc.integer({ min: 1, max: 256 }), { nil: undefined }),
      nodes: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
      costPerHour: fc.option(fc.constantFrom(0.5, 12), { nil: undefined }),
      weight: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
      defaultTemplate: fc.option(fc.nat(), { nil: undefined }),
    }),
    { maxLength: 2, selector: (t) => t.name },
  ),
  settings: fc.option(
    fc.record({
      batchIdle: fc.constantFrom("1s", "300ms"),
      orphanGracePeriod: fc.constantFrom("5m", "1s", "1h"),
      deleteUnadoptableVms: fc.option(fc.boolean(), { nil: undefined }),
    }, { requiredKeys: ["batchIdle"] }),
    { nil: undefined },
  ),
}).map((g): WrittenConfig => {
  const provider = g.providerNames[0]!;
  const hosts = g.hostNames;
  // A namespace belongs to one tenant: the second tenant drops the first one's.
  const taken = new Set<string>();
  const tenants = g.tenants.map((t) => {
    const namespaces = t.namespaces.filter((n) => !taken.has(n));
    for (const n of namespaces) taken.add(n);
    return { ...t, namespaces };
  });
  return {
    providers: g.providerNames.map((name) => ({
      name,
      spec: {
        endpoint: `https://${name}.lan:8006/`,
        tokenId: "proxscale@pve!auto",
        tokenSecret: g.secret,
        tls: { fingerprint: g.fingerprint },
        hosts: hosts.map((h) => ({ name: h, zone: `z-${h}` })),
        vmidRange: { lower: g.lower, upper: g.lower + g.span },
        placement: g.placement,
      },
    })),
    machineTemplates: g.templates.map((t) => ({
      name: t.name,
      spec: {
        provider,
        shapes: t.shapes.map((s) => ({ cpu: s.cpu, memory: `${s.memoryGi}Gi` })),
        source: {
          clone: {
            full: t.full,
            perHost: Object.fromEntries(hosts.map((h, i) => [h, 9000 + i])),
          },
        },
        bootstrap: { mode: "none" },
        ...(Object.keys(t.labels).length ? { labels: t.labels } : {}),
        ...(t.tags.length ? { tags: t.tags } : {}),
      },
    })),
    ...(tenants.length > 0
      ? {
        tenants: tenants.map((t, i) => ({
          name: t.name,
          spec: {
            namespaces: t.namespaces,
            quota: {
              ...(t.cpu !== undefined ? { cpu: t.cpu } : {}),
              ...(t.nodes !== undefined ? { nodes: t.nodes } : {}),
              ...(t.costPerHour !== undefined ? { costPerHour: t.costPerHour } : {}),
            },
            // Each tenant shares its shared pools with the other one.
            ...(tenants.length > 1 ? { sharing: { tenants: [tenants[1 - i]!.name] } } : {}),
            ...(t.weight !== undefined || t.defaultTemplate !== undefined
              ? {
                defaults: {
                  ...(t.weight !== undefined ? { weight: t.weight } : {}),
                  ...(t.defaultTemplate !== undefined
                    ? { machineTemplate: g.templates[t.defaultTemplate % g.templates.length]!.name }
                    : {}),
                },
              }
              : {}),
          },
        })),
      }
      : {}),
    nodePools: g.pools.map((p) => ({
      name: p.name,
      spec: {
        machineTemplate: g.templates[p.template % g.templates.length]!.name,
        ...(p.tenant && tenants.length > 0
          ? {
            tenancy: {
              tenant: tenants[p.tenant.at % tenants.length]!.name,
              shared: p.tenant.shared,
            },
          }
          : {}),
        ...(p.weight !== undefined ? { weight: p.weight } : {}),
        ...(p.nodes !== undefined ? { limits: { nodes: p.nodes } } : {}),
        minNodes: Math.min(p.minNodes, p.nodes ?? p.minNodes),
        ...(Object.keys(p.labels).length ? { labels: p.labels } : {}),
        ...(p.taint ? { taints: [{ key: "dedicated", value: p.name, effect: p.taint }] } : {}),
        disruption: {
          consolidationPolicy: p.policy,
          consolidateAfter: p.after,
          ...(p.policy === "Balanced" && p.threshold !== undefined
            ? { consolidationThreshold: p.threshold }
            : {}),
        },
        ...(p.paused !== undefined ? { paused: p.paused } : {}),
      },
    })),
    ...(g.settings ? { settings: g.settings } : {}),
  };
  // Plain objects, as a YAML or JSON reader makes them (the arbitraries' have no prototype).
}).map((w) => JSON.parse(JSON.stringify(w)) as WrittenConfig);

/** What an API server would list for `manifests`: server metadata, status, a NodeClaim. */
function listed(manifests: ReturnType<typeof manifestsFromConfig>, seed: number): unknown[] {
  const objects: unknown[] = manifests.map((m, i) => ({
    ...m,
    metadata: {
      ...m.metadata,
      uid: `uid-${seed}-${i}`,
      resourceVersion: String(100 + i),
      generation: 1 + (seed % 3),
      creationTimestamp: "2026-12-07T10:00:00Z",
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" },
      managedFields: [{ manager: "kubectl", operation: "Apply", time: "2026-12-07T10:00:00Z" }],
    },
    ...(m.kind !== "ConfigMap" ? { status: { observedGeneration: 1, conditions: [] } } : {}),
  }));
  objects.push({
    apiVersion: "proxscale.io/v1alpha1",
    kind: "NodeClaim",
    metadata: { name: `claim-${seed}`, uid: "u", resourceVersion: "9" },
    spec: { nodePool: "x" },
    status: { vmid: 1000 + seed, conditions: [{ type: "Ready", status: "True" }] },
  });
  return objects;
}

/** The backup `proxscale backup` would write for those listed objects. */
function backupOf(objects: unknown[]): Backup {
  const cleaned = objects.flatMap((o) => {
    const c = cleanObject(o, (o as { kind?: string }).kind === "NodeClaim");
    return c ? [c] : [];
  });
  return {
    apiVersion: BACKUP_API_VERSION,
    kind: BACKUP_KIND,
    formatVersion: BACKUP_FORMAT_VERSION,
    createdAt: "2026-12-07T12:00:00.000Z",
    namespace: "proxscale-system",
    kinds: [],
    objects: cleaned,
    configHistory: [],
    secretRefs: secretRefsOf(cleaned.filter((o) => o.kind !== "NodeClaim"), "proxscale-system"),
    inventory: { vms: [], problems: [] },
  };
}

Deno.test("property (1000 runs): restore of a backup of any generated configuration is the identity", () => {
  let valid = 0;
  let tenanted = 0;
  fc.assert(
    fc.property(writtenConfig, fc.nat(1000), (written, seed) => {
      const manifests = manifestsFromConfig(written);
      const original = configFromObjects(manifests);
      const text = renderBackup(backupOf(listed(manifests, seed)));
      assert.ok(!text.includes(SECRET_VALUE));
      const read = parseBackup(text, "b.yaml");
      assert.ok(read.ok, JSON.stringify(!read.ok && read.error));
      // Into an empty cluster: everything is created, nothing else, no NodeClaim.
      const plan = restorePlan(read.value, new Map());
      assert.ok(plan.every((c) => c.op === "create"));
      const applied = plan.map((c) => c.object);
      assert.ok(applied.every((o) => o.kind !== "NodeClaim"));
      assert.equal(read.value.objects.filter((o) => o.kind === "NodeClaim").length, 1);
      assert.deepEqual(
        applied.map((o) => [o.kind, o.metadata.name, o.spec ?? o.data]),
        manifests.map((m) => [m.kind, m.metadata.name, m.spec ?? m.data]),
      );
      const restored = configFromObjects(applied);
      assert.deepEqual(restored, original);
      if (original.ok) valid++;
      if (
        original.ok && original.value.tenants?.length &&
        original.value.nodePools.some((p) => p.tenancy)
      ) {
        tenanted++;
      }
      // Restoring again over what the first restore made changes nothing.
      const again = restorePlan(read.value, new Map(applied.map((o) => [objectKey(o), o])));
      assert.ok(again.every((c) => c.op === "unchanged"), JSON.stringify(again.map((c) => c.diff)));
      assert.deepEqual(configObjectsOf(read.value), applied);
    }),
    { numRuns: 1000, seed: 2112 },
  );
  // The generator makes configurations proxscale accepts, not just any objects.
  assert.ok(valid > 900, `only ${valid} of 1000 generated configurations were valid`);
  // and a good share of them have Tenants owning or sharing pools.
  assert.ok(tenanted > 200, `only ${tenanted} valid configurations had a tenant pool`);
});

Deno.test("a Secret named by the configuration is referenced in the backup, never copied", () => {
  const written: WrittenConfig = {
    providers: [{
      name: "lab",
      spec: { tokenSecret: { secret: { namespace: "ops", name: "pve", key: "token" } } },
    }],
  };
  const b = backupOf(listed(manifestsFromConfig(written), 1));
  assert.deepEqual(b.secretRefs, [{
    namespace: "ops",
    name: "pve",
    key: "token",
    usedBy: "Provider/lab",
  }]);
});

Deno.test("a backup of another format version or a broken object is refused, naming where", () => {
  const b = backupOf([]);
  const future = renderBackup({ ...b, formatVersion: 2 });
  const r = parseBackup(future, "f.yaml");
  assert.ok(!r.ok);
  assert.match(
    r.error[0]!,
    /^f\.yaml: formatVersion 2 is not one this proxscale reads \(it reads 1\)/,
  );
  const broken = renderBackup({ ...b, objects: [{ kind: "NodePool" } as never] });
  const r2 = parseBackup(broken, "g.yaml");
  assert.ok(!r2.ok);
  assert.ok(r2.error.includes("g.yaml: objects[0].metadata.name: missing"), r2.error.join("\n"));
  const notOurs = parseBackup("apiVersion: v1\nkind: Pod\n", "h.yaml");
  assert.ok(!notOurs.ok);
  assert.match(notOurs.error[0]!, /^h\.yaml: not a proxscale backup/);
});

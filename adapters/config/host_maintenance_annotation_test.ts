/**
 * Tests of host_maintenance_annotation.ts through crd_source.ts: a Provider's
 * host-maintenance.proxscale.io/HOST annotation puts that host into maintenance over its spec
 * field, and a bad value or an unknown host is a problem naming the annotation.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { CONFIG_API_VERSION, configFromObjects } from "./crd_source.ts";
import { hostMaintenanceKey } from "./host_maintenance_annotation.ts";

const objects = (annotations: Record<string, string>, spec: Record<string, unknown> = {}) => [
  {
    apiVersion: CONFIG_API_VERSION,
    kind: "Provider",
    metadata: { name: "home", annotations },
    spec: {
      endpoint: "https://pve.example:8006",
      tokenId: "root@pam!proxscale",
      tokenSecret: { env: "PVE_TOKEN" },
      hosts: [{ name: "pve1" }, { name: "pve2", maintenance: "cordon" }, { name: "pve3" }],
      vmidRange: { lower: 9000, upper: 9099 },
      ...spec,
    },
  },
  {
    apiVersion: CONFIG_API_VERSION,
    kind: "MachineTemplate",
    metadata: { name: "worker" },
    spec: {
      provider: "home",
      source: { clone: { templateVmid: 8000 } },
      shapes: [{ cpu: 2, memory: "4Gi" }],
    },
  },
  {
    apiVersion: CONFIG_API_VERSION,
    kind: "NodePool",
    metadata: { name: "general" },
    spec: { machineTemplate: "worker" },
  },
];

Deno.test("a Provider annotation drains or cordons its host, over the host's spec field", () => {
  const c = configFromObjects(objects({
    [hostMaintenanceKey("pve1")]: "drain",
    [hostMaintenanceKey("pve2")]: "drain",
    "unrelated.example/x": "y",
  }));
  assert.ok(c.ok, JSON.stringify(!c.ok && c.error));
  assert.deepEqual(
    c.value.providers[0]!.hosts.map((h) => [h.name, h.maintenance]),
    [["pve1", "drain"], ["pve2", "drain"], ["pve3", undefined]],
  );
  const plain = configFromObjects(objects({}));
  assert.ok(plain.ok);
  assert.deepEqual(
    plain.value.providers[0]!.hosts.map((h) => h.maintenance),
    [undefined, "cordon", undefined],
  );
});

Deno.test("a maintenance annotation with a bad value or for a host the Provider lacks is a problem", () => {
  const c = configFromObjects(objects({
    [hostMaintenanceKey("pve1")]: "reboot",
    [hostMaintenanceKey("pve9")]: "drain",
  }));
  assert.ok(!c.ok);
  assert.deepEqual(c.error.map((p) => [p.object, p.path]), [
    ["Provider/home", `metadata.annotations.${hostMaintenanceKey("pve1")}`],
    ["Provider/home", `metadata.annotations.${hostMaintenanceKey("pve9")}`],
  ]);
  assert.match(c.error[0]!.message, /must be "cordon" or "drain"/);
  assert.match(c.error[1]!.message, /no host pve9/);
});

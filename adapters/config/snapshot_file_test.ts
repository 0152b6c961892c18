/**
 * Tests of snapshot_file.ts: the hand-written cluster snapshot of `proxscale plan` becomes a
 * core Snapshot, taking host zones and overcommit from the configuration, and a bad file is a
 * located problem.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import type { Config } from "../../core/model.ts";
import { GiB } from "../../core/quantity.ts";
import { parseConfigText } from "./load.ts";
import { loadSnapshotFile, snapshotFile, toSnapshot } from "./snapshot_file.ts";

const CONFIG_TEXT = `providers:
  - name: home
    spec:
      endpoint: https://pve.example:8006
      tokenId: root@pam!proxscale
      tokenSecret: { env: PVE_TOKEN }
      hosts:
        - { name: pve1, zone: rack-a, cpuOvercommit: 2, reserved: { cpu: 1, memory: 2Gi } }
      vmidRange: { lower: 9000, upper: 9099 }
machineTemplates:
  - name: worker
    spec:
      provider: home
      source: { clone: { templateVmid: 8000 } }
      shapes: [{ cpu: 2, memory: 4Gi }]
      taints: [{ key: tmpl, effect: NoSchedule }]
nodePools:
  - name: general
    spec:
      machineTemplate: worker
      taints: [{ key: pool, value: "yes", effect: NoExecute }]
`;

function config(): Config {
  const r = parseConfigText(CONFIG_TEXT, "c.yaml");
  assert.ok(r.ok);
  return r.value;
}

const NOW = 1_000_000_000;

Deno.test("pods with replicas expand into numbered pods; a pod without a node is pending", () => {
  const s = toSnapshot(
    snapshotFile.parse({
      pods: [
        { name: "web", replicas: 3, requests: { cpu: "500m", memory: "1Gi" } },
        { name: "db", namespace: "data", nodeName: "worker-a" },
      ],
    }),
    config(),
    NOW,
  );
  assert.deepEqual(s.pods.map((p) => p.uid), [
    "default/web-0",
    "default/web-1",
    "default/web-2",
    "data/db",
  ]);
  assert.deepEqual(s.pods[0]!.containers, [{ cpu: 500, memory: GiB }]);
  assert.deepEqual([s.pods[0]!.phase, s.pods[0]!.unschedulable], ["Pending", true]);
  assert.deepEqual([s.pods[3]!.phase, s.pods[3]!.unschedulable], ["Running", false]);
  assert.equal(s.now, NOW, "without `now` the default time is used");
  assert.ok(s.pods[0]!.createdAt < s.pods[1]!.createdAt, "creation order follows the file");
});

Deno.test("a host named in the configuration takes its zone, overcommit and reservation from it", () => {
  const s = toSnapshot(
    snapshotFile.parse({
      now: 5,
      hosts: [
        { name: "pve1", cpu: 32, memory: "128Gi", committed: { cpu: 4 } },
        { name: "elsewhere", cpu: 8, memory: "16Gi", online: false },
      ],
    }),
    config(),
    NOW,
  );
  assert.equal(s.now, 5);
  const [known, other] = s.hosts;
  assert.deepEqual(
    [known!.provider, known!.zone, known!.cpuOvercommit, known!.reserved],
    ["home", "rack-a", 2, { cpu: 1000, memory: 2 * GiB }],
  );
  assert.deepEqual(known!.capacity, { cpu: 32_000, memory: 128 * GiB });
  assert.deepEqual(known!.committed, { cpu: 4000, memory: 0 });
  assert.deepEqual(
    [other!.provider, other!.zone, other!.cpuOvercommit, other!.online],
    ["home", "elsewhere", 1, false],
    "an unknown host is its own zone, on the first provider, without overcommit",
  );
});

Deno.test("a NodeClaim takes its template, provider and taints from its pool", () => {
  const s = toSnapshot(
    snapshotFile.parse({
      nodeClaims: [
        { name: "c1", nodePool: "general", shape: { cpu: 2, memory: "4Gi" }, ready: true },
        { name: "c2", nodePool: "gone", shape: { cpu: 1, memory: "2Gi" }, host: "pve1" },
      ],
    }),
    config(),
    NOW,
  );
  const [c1, c2] = s.nodeClaims;
  assert.deepEqual([c1!.machineTemplate, c1!.provider], ["worker", "home"]);
  assert.deepEqual(c1!.taints.map((t) => t.key), ["tmpl", "pool"]);
  assert.deepEqual([c1!.shape.cpu, c1!.shape.memory], [2000, 4 * GiB]);
  assert.deepEqual(c1!.conditions.map((c) => [c.type, c.status]), [["Ready", "True"]]);
  assert.deepEqual([c2!.machineTemplate, c2!.provider, c2!.taints, c2!.host], ["", "", [], "pve1"]);
  assert.deepEqual(c2!.conditions, []);
});

Deno.test("nodes keep labels, drop an absent taint value and convert allocatable", () => {
  const s = toSnapshot(
    snapshotFile.parse({
      nodes: [{
        name: "worker-a",
        labels: { a: "b" },
        taints: [{ key: "k", effect: "NoSchedule" }],
        allocatable: { cpu: "3900m", memory: "7Gi" },
      }],
    }),
    config(),
    NOW,
  );
  const n = s.nodes[0]!;
  assert.deepEqual(n.taints, [{ key: "k", effect: "NoSchedule" }]);
  assert.ok(!("value" in n.taints[0]!));
  assert.deepEqual(n.allocatable, { cpu: 3900, memory: 7 * GiB, pods: 110 });
  assert.equal(n.ready, true);
});

Deno.test("loading a snapshot file locates an unknown field, and a missing file is a problem", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = await loadSnapshotFile(`${dir}/none.yaml`, config(), NOW);
    assert.ok(!missing.ok);
    assert.equal(missing.error[0]!.message, "file not found");
    await Deno.writeTextFile(`${dir}/s.yaml`, "pods:\n  - name: web\n    cpus: 2\n");
    const bad = await loadSnapshotFile(`${dir}/s.yaml`, config(), NOW);
    assert.ok(!bad.ok);
    assert.deepEqual(
      bad.error.map((p) => `${p.file}:${p.line}:${p.col}: ${p.path}: ${p.message}`),
      [`${dir}/s.yaml:3:5: pods[0].cpus: unknown field`],
    );
    await Deno.writeTextFile(`${dir}/s.yaml`, "pods:\n  - name: web\n");
    const good = await loadSnapshotFile(`${dir}/s.yaml`, config(), NOW);
    assert.ok(good.ok);
    assert.deepEqual(good.value.pods.map((p) => p.name), ["web"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * VolumeBinding table: bound PVs with node affinity pin the pod, WaitForFirstConsumer claims do
 * not block, and the pod-wide messages for missing, deleting and Immediate unbound claims.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import type { KObj } from "../../fake_kube/objects.ts";
import { cluster, node, pod } from "./testing/objects.ts";
import {
  PV_NOT_EXIST,
  UNBOUND_IMMEDIATE,
  VOLUME_NODE_CONFLICT,
  volumeBinding,
} from "./volume_binding.ts";

const withClaim = (claimName: string) =>
  pod("p", {}, { volumes: [{ name: "data", persistentVolumeClaim: { claimName } }] });
const pvc = (
  name: string,
  spec: Record<string, unknown>,
  meta: Record<string, unknown> = {},
): KObj => ({
  metadata: { name, namespace: "default", ...meta },
  spec,
});
const localPv = (name: string, host: string): KObj => ({
  metadata: { name },
  spec: {
    nodeAffinity: {
      required: {
        nodeSelectorTerms: [{
          matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [host] }],
        }],
      },
    },
  },
});
const classes = [
  { metadata: { name: "local" }, volumeBindingMode: "WaitForFirstConsumer" },
  { metadata: { name: "fast" }, volumeBindingMode: "Immediate" },
];
const objs = {
  pvcs: [
    pvc("bound", { volumeName: "pv1" }),
    pvc("orphan", { volumeName: "gone" }),
    pvc("wait", { storageClassName: "local" }),
    pvc("now", { storageClassName: "fast" }),
    pvc("dying", { storageClassName: "local" }, { deletionTimestamp: "2026-01-01T00:00:00Z" }),
  ],
  pvs: [localPv("pv1", "n1")],
  storageClasses: classes,
};
const nodes = [node("n1"), node("n2")];

const table: { name: string; claim: string; on: string; want: string[] | string }[] = [
  { name: "a claim bound to a local PV admits its node", claim: "bound", on: "n1", want: [] },
  {
    name: "a claim bound to a local PV refuses other nodes",
    claim: "bound",
    on: "n2",
    want: [VOLUME_NODE_CONFLICT],
  },
  {
    name: "a claim bound to a missing PV refuses every node",
    claim: "orphan",
    on: "n1",
    want: [PV_NOT_EXIST],
  },
  {
    name: "an unbound WaitForFirstConsumer claim does not block",
    claim: "wait",
    on: "n2",
    want: [],
  },
  {
    name: "an unbound Immediate claim blocks the pod",
    claim: "now",
    on: "n1",
    want: UNBOUND_IMMEDIATE,
  },
  {
    name: "a missing claim blocks the pod",
    claim: "nope",
    on: "n1",
    want: `persistentvolumeclaim "nope" not found`,
  },
  {
    name: "a claim being deleted blocks the pod",
    claim: "dying",
    on: "n1",
    want: `persistentvolumeclaim "dying" is being deleted`,
  },
];

for (const row of table) {
  Deno.test(`volume binding: ${row.name}`, () => {
    const c = cluster(nodes, [], objs);
    const v = volumeBinding(withClaim(row.claim), c);
    if (typeof row.want === "string") {
      deepEqual(v, { ok: false, message: row.want });
    } else {
      ok(v.ok);
      deepEqual(v.filter(c.byName.get(row.on)!), row.want);
    }
  });
}

Deno.test("a WaitForFirstConsumer claim is returned for the selected-node annotation", () => {
  const v = volumeBinding(withClaim("wait"), cluster(nodes, [], objs));
  ok(v.ok);
  equal(v.claimsToSelect.map((c) => c.metadata.name).join(), "wait");
});

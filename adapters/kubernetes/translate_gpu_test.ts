/**
 * Tests of NodeClaims with GPU shapes through translate.ts and the NodeClaim CRD: the shape's
 * GPUs are written into spec.shape, the CRD admits them (and refuses GPUs naming neither a
 * mapping nor a model), and reading the object back gives core the same claim.
 *
 * May import: adapters/kubernetes/, adapters/config/, core/.
 */
import assert from "node:assert/strict";
import type { NodeClaim } from "../../core/model.ts";
import { KINDS, objectSchema } from "./crds.ts";
import { admit } from "./structural_validate.ts";
import { nodeClaimFromKube, nodeClaimToKube } from "./translate.ts";

const claim: NodeClaim = {
  name: "gpus-x1y2z",
  nodePool: "gpus",
  machineTemplate: "gpu",
  provider: "homelab",
  shape: {
    name: "8c-32Gi-1xT4-nvidia-222",
    cpu: 8000,
    memory: 32 * 2 ** 30,
    gpus: { count: 1, model: "T4", mdev: "nvidia-222" },
  },
  host: "pve1",
  createdAt: Date.parse("2026-12-07T11:00:00Z"),
  labels: { "proxscale.io/nodepool": "gpus" },
  taints: [],
  startupTaints: [],
  conditions: [],
};
const schema = objectSchema(KINDS.find((k) => k.kind === "NodeClaim")!);

Deno.test("a NodeClaim keeps its shape's GPUs through the custom resource and back", () => {
  const obj = nodeClaimToKube(claim) as { metadata: Record<string, unknown>; spec: never };
  assert.deepEqual((obj.spec as { shape: { gpus: unknown } }).shape.gpus, claim.shape.gpus);
  obj.metadata.creationTimestamp = "2026-12-07T11:00:00Z";
  const back = nodeClaimFromKube(obj);
  assert.ok(back.ok, !back.ok ? back.error : "");
  assert.deepEqual(back.value, claim);
});

Deno.test("the NodeClaim CRD admits a GPU shape and refuses GPUs without a mapping or a model", () => {
  const obj = nodeClaimToKube(claim) as { spec: { shape: { gpus: Record<string, unknown> } } };
  const good = admit(obj, schema);
  assert.ok(good.ok, JSON.stringify(!good.ok && good.errors));
  obj.spec.shape.gpus = { count: 1 };
  const bad = admit(obj, schema);
  assert.ok(!bad.ok);
  assert.match(JSON.stringify(bad.errors), /gpus needs a mapping or a model/);
});

import assert from "node:assert/strict";
import fc from "fast-check";
import type { Pod } from "./model.ts";
import { base36, fnv1a } from "./hash.ts";
import { podSetDigest } from "./pod_set_digest.ts";

const pod = (uid: string): Pod => ({
  uid,
  name: uid,
  namespace: "default",
  phase: "Running",
  createdAt: 0,
  containers: [{ cpu: 100, memory: 1 }],
});

/** The digest computed from scratch, as the disruption pass first did. */
function fresh(pods: readonly Pod[]): string {
  let sum = 0;
  for (const p of pods) sum = (sum + fnv1a(p.uid)) >>> 0;
  return `${pods.length}:${base36(sum)}`;
}

Deno.test("a pod set's digest is the same whether remembered or computed from scratch, pass after pass", () => {
  const uid = fc.constantFrom("a", "b", "c", "d", "e", "ns/x-1", "ns/x-2");
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom("n1", "n2", "n3"), fc.array(uid, { maxLength: 6 })), {
        minLength: 1,
        maxLength: 30,
      }),
      (passes) => {
        for (const [key, uids] of passes) {
          const pods = uids.map(pod);
          assert.equal(podSetDigest(`prop-${key}`, pods), fresh(pods));
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("a pod leaving or a different pod arriving changes the digest of the same node", () => {
  const a = [pod("p1"), pod("p2")];
  const before = podSetDigest("node-x", a);
  assert.notEqual(podSetDigest("node-x", [pod("p1")]), before);
  assert.notEqual(podSetDigest("node-x", [pod("p1"), pod("p3")]), before);
  assert.equal(podSetDigest("node-x", [pod("p2"), pod("p1")]), before); // order-free
});

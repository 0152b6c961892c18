import assert from "node:assert/strict";
import { parseGpus } from "./fake_cluster.ts";

Deno.test("--gpus takes HOST=N per host of the fake cluster and refuses unknown hosts and bad counts", () => {
  assert.deepEqual(parseGpus("pve1=2,pve3=1", 3), { pve1: 2, pve3: 1 });
  assert.deepEqual(parseGpus("", 3), {});
  assert.equal(parseGpus("pve4=1", 3), "no host pve4 (hosts are pve1..pve3)");
  assert.equal(parseGpus("pve1=two", 3), "'pve1=two' is not HOST=N");
  assert.equal(parseGpus("pve1=17", 3), "pve1: at most 16 GPUs per host");
});

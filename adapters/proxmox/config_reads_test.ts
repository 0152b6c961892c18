import assert from "node:assert/strict";
import fc from "fast-check";
import { err, ok, type Result } from "../../core/result.ts";
import type { PveError } from "./errors.ts";
import { type ConfigTarget, readConfigs } from "./config_reads.ts";

const down: PveError = { kind: "timeout", message: "no answer in 10s" } as PveError;
const gone: PveError = { kind: "notFound", message: "VM 7 does not exist" } as PveError;

Deno.test("configs are read a few at a time, every target once, whatever the read times", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 40 }),
      fc.integer({ min: 1, max: 6 }),
      async (delays, limit) => {
        const targets: ConfigTarget[] = delays.map((_, i) => ({
          node: `pve${i % 3}`,
          vmid: 100 + i,
        }));
        let inFlight = 0;
        let most = 0;
        const reads: number[] = [];
        const out = await readConfigs(targets, async (t) => {
          most = Math.max(most, ++inFlight);
          reads.push(t.vmid);
          await new Promise((r) => setTimeout(r, delays[t.vmid - 100]!));
          inFlight--;
          return ok({ vmid: t.vmid });
        }, limit);
        assert.ok(most <= limit, `${most} reads in flight with a limit of ${limit}`);
        if (targets.length >= limit && limit > 1) assert.ok(most > 1, "reads overlap");
        assert.deepEqual([...reads].sort((a, b) => a - b), targets.map((t) => t.vmid));
        for (const t of targets) {
          const r = out.get(t.vmid);
          assert.ok(r?.ok && r.value.vmid === t.vmid);
        }
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("a host that fails as down gets no more reads in the listing; a missing VM does not stop its host", async () => {
  const targets: ConfigTarget[] = [
    { node: "pve1", vmid: 1 },
    { node: "pve2", vmid: 2 },
    { node: "pve2", vmid: 3 },
    { node: "pve2", vmid: 4 },
    { node: "pve1", vmid: 7 },
    { node: "pve1", vmid: 8 },
  ];
  const asked: number[] = [];
  const out = await readConfigs(targets, (t): Promise<Result<string, PveError>> => {
    asked.push(t.vmid);
    if (t.node === "pve2") return Promise.resolve(err(down));
    if (t.vmid === 7) return Promise.resolve(err(gone));
    return Promise.resolve(ok(`config ${t.vmid}`));
  }, 1);
  assert.deepEqual(asked, [1, 2, 7, 8], "after pve2's timeout its other VMs are not read");
  assert.deepEqual([...out.keys()].sort(), [1, 2, 7, 8]);
  const seven = out.get(7)!;
  assert.ok(!seven.ok && seven.error.kind === "notFound");
  assert.ok(out.get(8)!.ok);
});

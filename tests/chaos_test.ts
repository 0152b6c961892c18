/**
 * The chaos suite in CI: 20 seeded runs of the fake cluster with two real daemon replicas under
 * Proxmox faults, a host offline, watch drops with 410s, an API server outage, leader kills and
 * crash points (between clone and tag included), and with PROXSCALE_TEST_REDIS_URL set, the
 * BullMQ queue and a Redis outage. Judged from outside, all five asserted: no leaked or
 * duplicate VM, no pool-limit violation, no PDB violation, and every run converged within its
 * bound. `deno task chaos -- --runs 200` is the full count (docs/performance.md).
 */
import assert from "node:assert/strict";
import { clean, summaryLine } from "../harness/chaos_main.ts";
import { type ChaosOutcome, runChaos } from "../harness/chaos_run.ts";

const RUNS = 20;
const FIRST_SEED = 1;

Deno.test("the summary line counts every violation and the runs that converged", () => {
  const run = (o: Partial<ChaosOutcome>): ChaosOutcome => ({
    seed: 1,
    leaked: 0,
    duplicates: 0,
    limitViolations: 0,
    pdbViolations: 0,
    converged: true,
    ms: 1,
    evictions: 0,
    maxVms: 0,
    kills: 0,
    log: [],
    ...o,
  });
  const rs = [
    run({}),
    run({ leaked: 2, converged: false }),
    run({ duplicates: 1, pdbViolations: 3 }),
  ];
  assert.equal(
    summaryLine(rs),
    "runs: 3, leaked VMs: 2, duplicate VMs: 1, limit violations: 0, PDB violations: 3, converged: 2",
  );
  assert.deepEqual(rs.map(clean), [true, false, false]);
  assert.equal(clean(run({ limitViolations: 1 })), false);
});

Deno.test(`${RUNS} chaos runs leak nothing, duplicate nothing, keep limits and PDBs, and converge`, async () => {
  const redisUrl = Deno.env.get("PROXSCALE_TEST_REDIS_URL");
  const results: ChaosOutcome[] = [];
  for (let seed = FIRST_SEED; seed < FIRST_SEED + RUNS; seed++) {
    results.push(await runChaos(seed, redisUrl ? { redisUrl } : {}));
  }
  const line = summaryLine(results);
  console.log(line);
  const failed = results.filter((r) => !clean(r));
  const detail = failed.map((r) =>
    `seed ${r.seed} (replay: deno task chaos -- --runs 1 --seed ${r.seed}` +
    `${redisUrl ? " --redis URL" : ""})\n${r.log.join("\n")}`
  ).join("\n\n");
  assert.equal(
    line,
    `runs: ${RUNS}, leaked VMs: 0, duplicate VMs: 0, limit violations: 0, PDB violations: 0, ` +
      `converged: ${RUNS}`,
    detail,
  );
  // The checks had something to judge: replicas died and pods were evicted across the runs.
  assert.ok(results.reduce((a, r) => a + r.kills, 0) > 0);
  assert.ok(results.reduce((a, r) => a + r.evictions, 0) > 0);
});

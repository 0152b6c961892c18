/**
 * `deno task chaos -- --runs N [--seed S] [--redis URL]`: runs N seeded chaos runs (seeds S,
 * S+1, ...; S defaults to a time-based seed) one after another and prints
 * `runs: N, leaked VMs: 0, duplicate VMs: 0, limit violations: 0, PDB violations: 0,
 * converged: N`. Any violation makes it exit 1 after printing the failing seeds, each with the
 * command that replays it and the run's log. `--redis` (or PROXSCALE_TEST_REDIS_URL) puts the
 * daemons on a BullMQ queue and adds a Redis outage to every run.
 *
 * May import: harness/.
 */
import { parseArgs } from "node:util";
import { type ChaosOutcome, runChaos } from "./chaos_run.ts";

/** Sums outcomes into the summary line. */
export function summaryLine(rs: ChaosOutcome[]): string {
  const sum = (f: (r: ChaosOutcome) => number) => rs.reduce((a, r) => a + f(r), 0);
  return `runs: ${rs.length}, leaked VMs: ${sum((r) => r.leaked)}, duplicate VMs: ${
    sum((r) => r.duplicates)
  }, limit violations: ${sum((r) => r.limitViolations)}, PDB violations: ${
    sum((r) => r.pdbViolations)
  }, converged: ${rs.filter((r) => r.converged).length}`;
}

/** Whether a run found nothing wrong. */
export function clean(r: ChaosOutcome): boolean {
  return r.leaked === 0 && r.duplicates === 0 && r.limitViolations === 0 &&
    r.pdbViolations === 0 && r.converged;
}

/** A run that does not finish in 2 minutes is a failure of its own (something hangs). */
async function withinLimit(seed: number, run: Promise<ChaosOutcome>): Promise<ChaosOutcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<ChaosOutcome>((r) => {
    timer = setTimeout(() =>
      r({
        seed,
        leaked: 0,
        duplicates: 0,
        limitViolations: 0,
        pdbViolations: 0,
        converged: false,
        ms: 120_000,
        evictions: 0,
        maxVms: 0,
        kills: 0,
        log: ["the run did not finish within 120 s"],
      }), 120_000);
  });
  try {
    return await Promise.race([run, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    // `deno task chaos -- --runs N` passes the "--" through.
    args: args[0] === "--" ? args.slice(1) : args,
    options: {
      runs: { type: "string", default: "20" },
      seed: { type: "string" },
      redis: { type: "string" },
      quiet: { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
    },
  });
  const runs = Number(values.runs);
  const first = values.seed !== undefined ? Number(values.seed) : Date.now() % 1_000_000;
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(first)) {
    console.error("usage: deno task chaos -- --runs N [--seed S] [--redis URL]");
    return 2;
  }
  const redisUrl = values.redis ?? Deno.env.get("PROXSCALE_TEST_REDIS_URL");
  const started = Date.now();
  const results: ChaosOutcome[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await withinLimit(first + i, runChaos(first + i, redisUrl ? { redisUrl } : {}));
    results.push(r);
    if (!values.quiet) {
      console.error(
        `seed ${r.seed}: ${clean(r) ? "ok" : "VIOLATION"} (${(r.ms / 1000).toFixed(1)} s)`,
      );
    }
    if (values.verbose && clean(r)) console.error(r.log.join("\n"));
    if (!clean(r)) {
      console.error(
        `--- seed ${r.seed} failed; replay: deno task chaos -- --runs 1 --seed ${r.seed}`,
      );
      console.error(r.log.join("\n"));
    }
  }
  console.log(summaryLine(results));
  const total = (f: (r: ChaosOutcome) => number) => results.reduce((a, r) => a + f(r), 0);
  console.error(
    `replicas killed: ${total((r) => r.kills)}, pods evicted: ${total((r) => r.evictions)}, ` +
      `most VMs at once: ${Math.max(...results.map((r) => r.maxVms))}`,
  );
  console.error(`wall time ${((Date.now() - started) / 1000).toFixed(1)} s, first seed ${first}`);
  const failed = results.filter((r) => !clean(r));
  if (failed.length > 0) {
    console.log(`failing seeds: ${failed.map((r) => r.seed).join(" ")}`);
    return 1;
  }
  return 0;
}

// The exit code is set, not forced: the process ends when its last timer does.
if (import.meta.main) Deno.exitCode = await main(Deno.args);

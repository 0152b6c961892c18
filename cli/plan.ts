/**
 * `proxscale plan --config FILE --snapshot FILE [--json]`: runs the provisioning core on a
 * cluster snapshot and shows the decision: which VMs would launch, where, for which pods, and
 * why each pod that gets no VM gets none. Nothing is contacted; the decision is the daemon's.
 */
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { parseArgs } from "node:util";
import type { Command } from "./command.ts";
import { formatProblem, loadConfigFile } from "../adapters/config/load.ts";
import { loadSnapshotFile } from "../adapters/config/snapshot_file.ts";
import { provision } from "../core/provisioning.ts";
import { renderTable } from "./table.ts";

const USAGE = "proxscale plan --config FILE --snapshot FILE [--json] [--now EPOCH_MS]";

export const planCommand: Command = {
  name: "plan",
  summary: COMMAND_SUMMARIES.plan,
  usage: USAGE,
  async run(args, io) {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        options: {
          config: { type: "string", short: "c" },
          snapshot: { type: "string", short: "s" },
          json: { type: "boolean" },
          now: { type: "string" },
          help: { type: "boolean", short: "h" },
        },
      }));
    } catch (e) {
      io.err(`${(e as Error).message}\nusage: ${USAGE}`);
      return 2;
    }
    if (values.help) {
      io.out(
        `usage: ${USAGE}\n\nRuns the provisioning decision on a snapshot (pods, nodes, NodeClaims, Proxmox hosts)\nand prints the NodeClaims it would open, with reasons. --json prints the plan as JSON.`,
      );
      return 0;
    }
    if (!values.config || !values.snapshot) {
      io.err(`usage: ${USAGE}`);
      return 2;
    }
    const config = await loadConfigFile(values.config);
    if (!config.ok) {
      for (const p of config.error) io.err(formatProblem(p));
      return 2;
    }
    const now = values.now !== undefined ? Number(values.now) : Date.now();
    if (!Number.isFinite(now)) {
      io.err(`--now must be epoch milliseconds, got "${values.now}"`);
      return 2;
    }
    const snapshot = await loadSnapshotFile(values.snapshot, config.value, now);
    if (!snapshot.ok) {
      for (const p of snapshot.error) io.err(formatProblem(p));
      return 2;
    }
    const plan = provision(snapshot.value, config.value);
    if (values.json) {
      io.out(JSON.stringify(plan, null, 2));
      return 0;
    }
    if (plan.claims.length === 0) io.out("No new VMs needed.");
    else {
      io.out(`${plan.claims.length} NodeClaim${plan.claims.length === 1 ? "" : "s"} to launch:\n`);
      io.out(renderTable(
        ["NODECLAIM", "POOL", "SHAPE", "HOST", "PODS", "REASON"],
        plan.claims.map((
          c,
        ) => [c.name, c.nodePool, c.shape.name, c.host, String(c.pods.length), c.reason.message]),
      ));
    }
    if (plan.placements.length > 0) {
      io.out(
        `\n${plan.placements.length} pending pod(s) fit capacity that exists or is launching:\n`,
      );
      io.out(renderTable(
        ["POD", "ON", "REASON"],
        plan.placements.map((p) => [p.pod, p.target, p.reason.message]),
      ));
    }
    if (plan.unhelped.length > 0) {
      io.out(`\n${plan.unhelped.length} pod(s) get no new VM:\n`);
      io.out(renderTable(
        ["POD", "REASON", "WHY"],
        plan.unhelped.map((u) => [u.pod, u.reason.code, u.reason.message]),
      ));
    }
    return 0;
  },
};

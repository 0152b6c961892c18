/**
 * `proxscale pool list|scale-min|pause|resume`: the node-pool commands, each a thin client over
 * the NodePool's spec (in the cluster, or with `--config FILE` in the config file the daemon
 * hot-reloads) and the daemon's /status. scale-min sets spec.minNodes; pause sets spec.paused
 * (no new node, minNodes included, and no disruption of the pool's nodes) and resume clears it.
 *
 * May import: core/, adapters/, daemon/, cli/.
 */
import { parseArgs } from "node:util";
import { COMMAND_SUMMARIES } from "./summaries.ts";
import type { Command, Io } from "./command.ts";
import { renderTable } from "./table.ts";
import { humanBytes, humanCpu } from "../core/quantity.ts";
import type { PoolStatus } from "../daemon/status_report.ts";
import { setPoolFieldInCluster, setPoolFieldInConfigFile } from "./pool_edit.ts";
import { kubeFrom, readStatus, SOURCE_ARGS, SOURCE_HELP } from "./status_source.ts";

const USAGE = "proxscale pool list | scale-min POOL N | pause POOL | resume POOL " +
  "[--config FILE | --kubeconfig FILE] [--url URL]";

const HELP = `usage: ${USAGE}

NodePool commands.

  list               every pool: nodes, minNodes, limits, usage, paused
  scale-min POOL N   keep at least N nodes in POOL (spec.minNodes)
  pause POOL         no new node for POOL (minNodes included) and no disruption of its nodes;
                     launches already under way finish (spec.paused: true)
  resume POOL        undo pause
${SOURCE_HELP}

In the cluster these are merge patches of the NodePool's spec (kubectl patch nodepool POOL
--type merge -p '{"spec":{"paused":true}}' does the same); with --config they edit the file.`;

function poolRow(p: PoolStatus): string[] {
  return [
    p.name,
    p.machineTemplate,
    String(p.usage.nodes),
    String(p.minNodes),
    p.limits.nodes === undefined ? "-" : String(p.limits.nodes),
    humanCpu(p.usage.cpu),
    humanBytes(p.usage.memory),
    p.paused ? "yes" : "no",
  ];
}

/** `proxscale pool`. */
export const poolCommand: Command = {
  name: "pool",
  summary: COMMAND_SUMMARIES.pool,
  usage: USAGE,
  run: async (args: string[], io: Io) => {
    let values;
    let positionals;
    try {
      ({ values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { ...SOURCE_ARGS, help: { type: "boolean", short: "h" } },
      }));
    } catch (e) {
      io.err(`${(e as Error).message}\nusage: ${USAGE}`);
      return 2;
    }
    if (values.help) {
      io.out(HELP);
      return 0;
    }
    const [verb, pool, arg, ...rest] = positionals;
    if (verb === "list" && pool === undefined) {
      const s = await readStatus(values);
      if (!s.ok) {
        io.err(`proxscale pool list: ${s.error}`);
        return 1;
      }
      io.out(renderTable(
        ["POOL", "TEMPLATE", "NODES", "MIN", "LIMIT", "CPU", "MEMORY", "PAUSED"],
        s.value.pools.map(poolRow),
      ));
      return 0;
    }
    let field: string;
    let value: unknown;
    if (verb === "scale-min" && pool !== undefined && arg !== undefined && rest.length === 0) {
      if (!/^\d{1,6}$/.test(arg)) {
        io.err(`proxscale pool scale-min: ${JSON.stringify(arg)} is not a node count`);
        return 2;
      }
      field = "minNodes";
      value = Number(arg);
    } else if (
      (verb === "pause" || verb === "resume") && pool !== undefined && arg === undefined
    ) {
      field = "paused";
      value = verb === "pause";
    } else {
      io.err(`usage: ${USAGE}`);
      return 2;
    }
    const changed = values.config !== undefined
      ? await setPoolFieldInConfigFile(values.config, pool, field, value)
      : await setPoolFieldInCluster(await kubeFrom(values), pool, field, value);
    if (!changed.ok) {
      io.err(`proxscale pool ${verb}: ${changed.error}`);
      return 1;
    }
    io.out(changed.value);
    return 0;
  },
};

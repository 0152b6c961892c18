/**
 * `proxscale advise`: runs the simulator over the knobs that matter (sim/report/advice.ts) on a
 * trace (recorded with `proxscale record`, the embedded default, or with --kubeconfig the demand
 * history the daemon stores, against the live configuration: cli/advise_source.ts) and prints the changes worth
 * making with their simulated effect on node-hours, cost and p95 pending, as a table and as a
 * config patch that `proxscale sim --patch` applies (--patch-out writes it; --json prints all
 * figures; --html writes the simulator's report of the configuration as it is against the
 * advised one).
 */
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { readSeedAndFormat, readSimConfig, readSimTrace, readSimWorld } from "./sim_inputs.ts";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import type { Command, Io } from "./command.ts";
import type { Config } from "../core/model.ts";
import { defaultTrace } from "../sim/trace/default_trace.ts";
import type { Trace } from "../sim/trace/format.ts";
import type { WorldSpec } from "../sim/engine/world_spec.ts";
import { withWorldClasses } from "../sim/engine/world_classes.ts";
import { proxscaleAsConfigured } from "../sim/policies/proxscale_as_configured.ts";
import { advise } from "../sim/report/advice.ts";
import { distributedAdvise, SIM_QUEUE } from "./sim_queue.ts";
import { adviseInputFromCluster } from "./advise_source.ts";
import { kubeFrom } from "./status_source.ts";
import { DEFAULT_NAMESPACE } from "../adapters/config/crd_manifests.ts";
import { applyConfigPatch } from "../sim/report/config_patch.ts";
import { compare } from "../sim/report/compare.ts";
import { canonicalJson } from "../sim/report/json.ts";
import { renderReportHtml } from "../sim/report/html.ts";

const USAGE =
  "proxscale advise [--trace FILE [--format F] | --kubeconfig FILE [--namespace NS]] [--config FILE] [--days N]\n" +
  "                 [--world FILE] [--seed N] [--queue redis://HOST:PORT [--queue-name NAME]]\n" +
  "                 [--patch-out FILE] [--html OUT] [--json]";

const HELP = `usage: ${USAGE}

Replays the trace (default: the embedded one; record yours with 'proxscale record') through
proxscale's decision core once as configured and once per candidate change: each pool's predictive
scale-up on/off, its consolidateAfter (30s, 2m, 10m), its cpu/memory/node limits halved and
doubled, each template's VM sizes, the batch window, and one Proxmox host fewer or more. Prints
every change's simulated effect on node-hours, cost and p95 pending, marks those worth making
(>= 1 % cheaper without p95 more than 10 % worse, or p95 >= 20 % lower for <= 5 % more cost) and
the patch of the best one. Apply it with: proxscale sim --patch FILE (same trace, config and seed:
same figures). A host-count change is hardware advice, not a config patch: printed apart (one host
fewer is worth it when p95 is at most 10 % worse; the simulated cost counts VMs, not hosts).

With --kubeconfig it advises on the cluster itself: the live configuration (Providers,
MachineTemplates, NodePools, settings) and a trace made from the demand history the daemon keeps
for pools with scaleUp.forecast (ConfigMap proxscale-demand-history): each pool's 5-minute peaks
replayed as pods pinned to the pool. No history: exit 1, saying what to enable.

  --kubeconfig FILE the cluster to read the configuration and demand history from
  --namespace NS    proxscale's namespace there (default ${DEFAULT_NAMESPACE})
  --days N          replay only the trace's first N days (with --kubeconfig: the history's last N)
  --patch-out FILE  write the recommended patch (YAML) to FILE
  --html OUT        the simulator's HTML report: as configured against the advised config
  --json            every figure as canonical JSON
  --queue URL       replay the runs on 'proxscale sim worker' processes through this Redis (BullMQ,
                    the sweep queue): the same advice, byte for byte, as a local run
  --queue-name N    BullMQ queue name (default ${SIM_QUEUE})`;

/** The `advise` command. */
export const adviseCommand: Command = {
  name: "advise",
  summary: COMMAND_SUMMARIES.advise,
  usage: USAGE,
  run: runAdvise,
};

async function runAdvise(args: string[], io: Io): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        trace: { type: "string", short: "t" },
        format: { type: "string" },
        config: { type: "string", short: "c" },
        kubeconfig: { type: "string" },
        namespace: { type: "string", short: "n" },
        days: { type: "string" },
        world: { type: "string" },
        seed: { type: "string" },
        "patch-out": { type: "string" },
        html: { type: "string" },
        json: { type: "boolean" },
        queue: { type: "string" },
        "queue-name": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    io.err(`${(e as Error).message}\nusage: ${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const options = readSeedAndFormat(values, io);
  if (!options) return 2;
  const { seed } = options;
  const loadedConfig = await readSimConfig(values.config, io);
  if (!loadedConfig) return 2;
  let config: Config = loadedConfig;
  const loadedWorld = await readSimWorld(values.world, io);
  if (!loadedWorld) return 2;
  const world: WorldSpec = loadedWorld;
  let trace: Trace = defaultTrace();
  if (values.trace) {
    const t = await readSimTrace(values.trace, options.format, io);
    if (!t) return 2;
    trace = t;
  }
  const days = values.days === undefined ? undefined : Number(values.days);
  if (days !== undefined && !(days > 0)) {
    io.err(`--days must be a positive number, got "${values.days}"`);
    return 2;
  }
  if (values.kubeconfig !== undefined) {
    if (values.trace || values.config) {
      io.err(
        "--kubeconfig reads the trace and the configuration from the cluster: no --trace or --config",
      );
      return 2;
    }
    let input;
    try {
      input = await adviseInputFromCluster(
        await kubeFrom({ kubeconfig: values.kubeconfig }),
        values.namespace ?? DEFAULT_NAMESPACE,
        days,
      );
    } catch (e) {
      io.err(`${values.kubeconfig}: ${(e as Error).message}`);
      return 1;
    }
    if (!input.ok) {
      io.err(input.error);
      return 1;
    }
    config = input.value.config;
    trace = input.value.trace;
    io.err(`advise: ${trace.notes.join("; ")}`);
  } else if (days !== undefined) {
    const end = Math.min(trace.duration, days * 86_400_000);
    trace = { ...trace, duration: end, pods: trace.pods.filter((p) => p.arrival < end) };
  }
  const input = {
    trace,
    config,
    world,
    seed,
    onProgress: (done: number, total: number) => io.err(`advise: ${done}/${total} simulated runs`),
  };
  let advice;
  if (values.queue !== undefined) {
    if (!/^rediss?:\/\/\S+$/.test(values.queue)) {
      io.err(`--queue must be a redis:// or rediss:// URL, got "${values.queue}"`);
      return 2;
    }
    try {
      advice = await distributedAdvise(input, {
        url: values.queue,
        ...(values["queue-name"] ? { name: values["queue-name"] } : {}),
      });
    } catch (e) {
      io.err(`distributed advise failed: ${(e as Error).message}`);
      return 1;
    }
  } else advice = advise(input);
  const rec = advice.recommended;
  const patchText = rec?.patch ? stringify(rec.patch) : "";
  if (values["patch-out"] && rec) await Deno.writeTextFile(values["patch-out"], patchText);
  if (values.html) {
    const advised = rec?.patch ? applyConfigPatch(config, rec.patch) : undefined;
    const policies = [proxscaleAsConfigured(withWorldClasses(config, world))];
    if (advised?.ok) {
      policies.push({
        ...proxscaleAsConfigured(withWorldClasses(advised.value, world)),
        name: "proxscale-advised",
        description: `proxscale with the advised change: ${rec!.change}`,
      });
    }
    const report = compare({ trace, config, world, seed, policies: policies as never });
    await Deno.writeTextFile(values.html, renderReportHtml(report));
  }
  if (values.json) {
    io.out(canonicalJson(advice).trimEnd());
    return 0;
  }
  const pct = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;
  const b = advice.base;
  const rows = [["CHANGE", "NODE-H", "COST", "p95 PENDING", "WORTH IT"], [
    "(as configured)",
    b.nodeHours.toFixed(1),
    b.cost.toFixed(2),
    `${b.pendingP95Seconds.toFixed(1)}s`,
    "",
  ]];
  for (const c of advice.candidates) {
    rows.push([
      c.change,
      `${c.outcome.nodeHours.toFixed(1)} (${pct(c.nodeHoursChange)})`,
      `${c.outcome.cost.toFixed(2)} (${pct(c.costChange)})`,
      `${c.outcome.pendingP95Seconds.toFixed(1)}s (${pct(c.p95Change)})`,
      c.hosts !== undefined
        ? (c.worth ? (c === advice.hardware ? "yes, hardware" : "yes") : "no")
        : c.worth
        ? (c === rec ? "yes, best" : "yes")
        : "no",
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  io.out(rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n"));
  const hw = advice.hardware;
  if (hw) {
    io.out(
      `\nHardware advice: ${hw.change}: cost ${pct(hw.costChange)}, p95 pending ${
        pct(hw.p95Change)
      } (simulated; the cost counts VMs, not hosts).\nThis is not a config patch: add or retire ` +
        `the Proxmox host, then list it in the Provider's hosts; 'proxscale sim --sweep' tries ` +
        `host counts with VM sizes.`,
    );
  }
  if (!rec) {
    io.out("\nNo config change is worth making on this trace: the configuration stays as it is.");
    return 0;
  }
  io.out(
    `\nRecommended: ${rec.change}: cost ${pct(rec.costChange)}, node-hours ${
      pct(rec.nodeHoursChange)
    }, p95 pending ${pct(rec.p95Change)} (simulated, seed ${seed}).\nPatch${
      values["patch-out"] ? ` (written to ${values["patch-out"]})` : ""
    }; check it with proxscale sim --patch FILE:\n\n${patchText.trimEnd()}`,
  );
  return 0;
}

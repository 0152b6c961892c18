/**
 * `proxscale record`: watches the pods of a live cluster through the Kubernetes adapter's
 * informer and writes what it saw as a proxscale trace (JSON Lines, version 1) when the
 * duration is over or on SIGINT/SIGTERM, ready for `proxscale sim --trace`. With
 * --demand-history it instead exports the NodePools' demand history the daemon stores (ConfigMap
 * proxscale-demand-history), ready for `proxscale sim --demand-history`.
 */
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { parseArgs } from "node:util";
import { type Command, type Io, stopped } from "./command.ts";
import { parseDuration } from "../core/duration.ts";
import { describeKubeError, KubeClient } from "../adapters/kubernetes/client.ts";
import {
  DEMAND_HISTORY_CONFIGMAP,
  readDemandHistories,
} from "../adapters/kubernetes/demand_history_store.ts";
import { DEFAULT_NAMESPACE } from "../adapters/config/crd_manifests.ts";
import { writeDemandHistoryFile } from "../sim/trace/demand_history_file.ts";
import {
  kubeClientFromDefault,
  kubeClientFromKubeconfig,
} from "../adapters/kubernetes/kubeconfig.ts";
import { Informer } from "../adapters/kubernetes/informer.ts";
import { podFromKube } from "../adapters/kubernetes/translate.ts";
import type { Pod } from "../core/model.ts";
import { type PodWatch, TraceRecorder } from "../sim/trace/recorder.ts";
import { writeTrace } from "../sim/trace/format.ts";

const USAGE =
  "proxscale record --out FILE [--kubeconfig FILE] [--namespace NS] [--duration 1h] [--name NAME]\n" +
  "       proxscale record --demand-history --out FILE [--kubeconfig FILE] [--history-namespace NS]";

/** The pod informer of the Kubernetes adapter, as a PodWatch. */
export function informerPodWatch(client: KubeClient, namespace?: string): PodWatch {
  const informer = new Informer<Pod>({
    client,
    path: namespace ? `/api/v1/namespaces/${namespace}/pods` : "/api/v1/pods",
    resource: "pods",
    translate: podFromKube,
  });
  return {
    start(onChange) {
      informer.on((e) => onChange({ type: e.type, pod: e.value }));
      informer.start();
      return informer.synced();
    },
    stop: () => informer.stop(),
  };
}

/** Resolves once `stop` aborts (main.ts: SIGINT or SIGTERM), or after `ms`. */
function stoppedOr(stop: AbortSignal | undefined, ms: number | undefined): Promise<void> {
  const timeout = ms === undefined ? [] : [AbortSignal.timeout(ms)];
  return stopped(AbortSignal.any([...(stop ? [stop] : []), ...timeout]));
}

export type RecordDeps = {
  /** Builds the pod source from the parsed options. */
  watch: (kubeconfig: string | undefined, namespace: string | undefined) => Promise<PodWatch>;
  /** Resolves when recording should stop. */
  until: (durationMs: number | undefined) => Promise<void>;
  now: () => number;
  /** The client for one-off reads (--demand-history); default: from the kubeconfig. */
  kube?: (kubeconfig: string | undefined) => Promise<KubeClient>;
};

/** The real cluster and clock; recording ends when `stop` aborts or after --duration. */
function realDeps(stop: AbortSignal | undefined): RecordDeps {
  return {
    watch: async (kubeconfig, namespace) => {
      const client = kubeconfig
        ? kubeClientFromKubeconfig(await Deno.readTextFile(kubeconfig))
        : kubeClientFromDefault();
      return informerPodWatch(client, namespace);
    },
    until: (ms) => stoppedOr(stop, ms),
    now: () => Date.now(),
    kube: async (kubeconfig) =>
      kubeconfig
        ? kubeClientFromKubeconfig(await Deno.readTextFile(kubeconfig))
        : kubeClientFromDefault(),
  };
}

/** The `record` command with injectable dependencies (tests use a fake API server and no signals). */
export function recordCommandWith(deps: RecordDeps): Command {
  return {
    name: "record",
    summary: COMMAND_SUMMARIES.record,
    usage: USAGE,
    run: (args, io) => runRecord(args, io, deps),
  };
}

/** The `record` command: it stops when main.ts says (SIGINT or SIGTERM) or after --duration. */
export const recordCommand: Command = {
  ...recordCommandWith(realDeps(undefined)),
  run: (args, io, stop) => runRecord(args, io, realDeps(stop)),
};

async function runRecord(args: string[], io: Io, deps: RecordDeps): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        out: { type: "string", short: "o" },
        kubeconfig: { type: "string" },
        namespace: { type: "string", short: "n" },
        duration: { type: "string" },
        name: { type: "string" },
        "demand-history": { type: "boolean" },
        "history-namespace": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    io.err(`${(e as Error).message}\nusage: ${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(
      `usage: ${USAGE}\n\nWatches pods (all namespaces, or --namespace) and writes them as a proxscale trace when\n--duration is over or on Ctrl-C. Replay it with: proxscale sim --trace FILE`,
    );
    return 0;
  }
  if (!values.out) {
    io.err(`--out is required\nusage: ${USAGE}`);
    return 2;
  }
  if (values["demand-history"]) {
    if (!deps.kube) {
      io.err("--demand-history needs a Kubernetes client");
      return 2;
    }
    const ns = values["history-namespace"] ?? DEFAULT_NAMESPACE;
    const r = await readDemandHistories(await deps.kube(values.kubeconfig), ns);
    if (!r.ok) {
      io.err(`reading ConfigMap ${ns}/${DEMAND_HISTORY_CONFIGMAP}: ${describeKubeError(r.error)}`);
      return 1;
    }
    await Deno.writeTextFile(values.out, writeDemandHistoryFile(r.value));
    const pools = Object.entries(r.value);
    io.out(
      `wrote the demand history of ${pools.length} pool(s) (${
        pools.map(([n, h]) => `${n}: ${h.cpu.length} buckets`).join(", ") || "none stored"
      }) to ${values.out}; replay with proxscale sim --demand-history ${values.out}`,
    );
    return 0;
  }
  let durationMs: number | undefined;
  if (values.duration !== undefined) {
    const d = parseDuration(values.duration);
    if (!d.ok || d.value === null) {
      io.err(`--duration must be a duration such as 30m or 24h, got "${values.duration}"`);
      return 2;
    }
    durationMs = d.value;
  }
  const recorder = new TraceRecorder(deps.now(), values.name ?? "recorded");
  const watch = await deps.watch(values.kubeconfig, values.namespace);
  let changes = 0;
  await watch.start((c) => {
    changes++;
    recorder.observe(c, deps.now());
  });
  io.err(`recording pods${durationMs ? ` for ${values.duration}` : ""}; Ctrl-C to stop`);
  await deps.until(durationMs);
  await watch.stop();
  const trace = recorder.finish(deps.now());
  await Deno.writeTextFile(values.out, writeTrace(trace));
  io.out(`wrote ${trace.pods.length} pods (${changes} changes) to ${values.out}`);
  return 0;
}

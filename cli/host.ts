/**
 * `proxscale host list|cordon|uncordon|drain HOST [--wait]`: Proxmox host maintenance.
 * cordon: no new VM is placed on the host. drain: also, the nodes of proxscale's VMs there are
 * replaced through disruption (budgets, PodDisruptionBudgets and do-not-disrupt respected;
 * reason HostMaintenance). uncordon ends either. The state is written where the configuration
 * lives: the Provider annotation `host-maintenance.proxscale.io/HOST` in the cluster (so
 * `kubectl annotate` does the same), or the host's `maintenance` field with `--config FILE`.
 * A PVE node in HA maintenance is drained without any of this; `host list` shows it. A Redfish
 * Provider is refused with a message saying so (a bare-metal machine is one node).
 *
 * May import: core/, adapters/, daemon/, cli/.
 */
import { parseArgs } from "node:util";
import { COMMAND_SUMMARIES } from "./summaries.ts";
import type { Command, Io } from "./command.ts";
import type { HostMaintenance } from "../core/model.ts";
import { parseDuration } from "../core/duration.ts";
import { renderTable } from "./table.ts";
import type { HostStatus } from "../daemon/host_status.ts";
import { setHostInConfigFile, setHostOnProvider } from "./host_maintenance_edit.ts";
import {
  kubeFrom,
  readStatus,
  SOURCE_ARGS,
  SOURCE_HELP,
  type SourceOptions,
} from "./status_source.ts";

const USAGE = "proxscale host list|cordon|uncordon|drain [HOST] [--provider NAME] [--wait] " +
  "[--timeout 30m] [--config FILE | --kubeconfig FILE] [--url URL]";

const HELP = `usage: ${USAGE}

Proxmox host maintenance.

  list               every configured host: maintenance (from the configuration, the Provider
                     annotation or PVE's HA maintenance), reachability, NodeClaims on it
  cordon HOST        place no new VM on HOST
  drain HOST         cordon, and replace the nodes of proxscale's VMs on HOST (budgets,
                     PodDisruptionBudgets and do-not-disrupt respected; reason HostMaintenance)
  uncordon HOST      end the maintenance of HOST

  --provider NAME    the Provider of HOST when several list a host of that name
  --wait             with drain: wait until no NodeClaim has its VM on HOST, printing progress
  --timeout D        how long --wait waits (default 30m); exit 1 past it
  --interval D       how often --wait looks (default 2s)
${SOURCE_HELP}

In the cluster the state is the Provider annotation host-maintenance.proxscale.io/HOST
(cordon|drain), e.g. kubectl annotate provider NAME host-maintenance.proxscale.io/pve2=drain;
with --config it is the host's maintenance field in the file. A PVE node put into HA
maintenance (ha-manager crm-command node-maintenance enable NODE) is drained automatically.
A Redfish (bare-metal) Provider's machines are refused: each is one node, cordoned or drained
with kubectl.`;

const STATE: Record<string, HostMaintenance | undefined> = {
  cordon: "cordon",
  drain: "drain",
  uncordon: undefined,
};

function hostRow(h: HostStatus): string[] {
  return [
    h.provider,
    h.host,
    h.zone,
    h.maintenance ?? "-",
    h.maintenanceFrom?.join("+") ?? "-",
    h.power === "off" ? "powered off" : h.power ?? (h.down ? "down" : "up"),
    h.deleting ? `${h.claims} (${h.deleting} deleting)` : String(h.claims),
  ];
}

async function list(o: SourceOptions, io: Io): Promise<number> {
  const s = await readStatus(o);
  if (!s.ok) {
    io.err(`proxscale host list: ${s.error}`);
    return 1;
  }
  const hosts = s.value.hosts ?? [];
  io.out(renderTable(
    ["PROVIDER", "HOST", "ZONE", "MAINTENANCE", "FROM", "STATE", "NODECLAIMS"],
    hosts.map(hostRow),
  ));
  return 0;
}

/** Polls until no NodeClaim is on the host; prints each change of the count. */
async function waitDrained(
  o: SourceOptions,
  host: string,
  provider: string | undefined,
  limits: { timeout: number; interval: number },
  io: Io,
  stop?: AbortSignal,
): Promise<number> {
  const end = Date.now() + limits.timeout;
  let last = "";
  while (!stop?.aborted) {
    const s = await readStatus(o);
    if (s.ok) {
      const h = (s.value.hosts ?? []).find((x) =>
        x.host === host && (provider === undefined || x.provider === provider)
      );
      const claims = s.value.claims.filter((c) => c.host === host);
      const count = h ? h.claims : claims.length;
      const deleting = h ? h.deleting : claims.filter((c) => c.deleting).length;
      if (count === 0) {
        io.out(`${host}: drained, no proxscale VM left`);
        return 0;
      }
      const line = `${host}: ${count} NodeClaim${count === 1 ? "" : "s"} left` +
        (deleting ? ` (${deleting} being deleted)` : "");
      if (line !== last) io.out(line);
      last = line;
    } else if (s.error !== last) {
      io.err(`${host}: ${s.error}`);
      last = s.error;
    }
    if (Date.now() >= end) {
      io.err(`${host}: still not drained after ${Math.round(limits.timeout / 1000)} s`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, limits.interval));
  }
  return 1;
}

/** `proxscale host`. */
export const hostCommand: Command = {
  name: "host",
  summary: COMMAND_SUMMARIES.host,
  usage: USAGE,
  run: async (args: string[], io: Io, stop?: AbortSignal) => {
    let values;
    let positionals;
    try {
      ({ values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
          ...SOURCE_ARGS,
          provider: { type: "string" },
          wait: { type: "boolean" },
          timeout: { type: "string" },
          interval: { type: "string" },
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
    const [verb, host, ...rest] = positionals;
    if (verb === "list" && host === undefined) return await list(values, io);
    if (verb === undefined || !(verb in STATE) || host === undefined || rest.length > 0) {
      io.err(`usage: ${USAGE}`);
      return 2;
    }
    if (values.wait && verb !== "drain") {
      io.err("proxscale host: --wait goes with drain");
      return 2;
    }
    const timeout = parseDuration(values.timeout ?? "30m");
    const interval = parseDuration(values.interval ?? "2s");
    if (!timeout.ok || !interval.ok) {
      io.err(`proxscale host: ${!timeout.ok ? timeout.error : !interval.ok ? interval.error : ""}`);
      return 2;
    }
    const state = STATE[verb];
    const changed = values.config !== undefined
      ? await setHostInConfigFile(values.config, host, values.provider, state)
      : await setHostOnProvider(await kubeFrom(values), host, values.provider, state);
    if (!changed.ok) {
      io.err(`proxscale host ${verb}: ${changed.error}`);
      return 1;
    }
    io.out(changed.value);
    if (!values.wait) return 0;
    if (values.config !== undefined && values.url === undefined) {
      io.err("proxscale host drain --wait: with --config, say where the daemon is with --url");
      return 2;
    }
    return await waitDrained(
      values,
      host,
      values.provider,
      { timeout: timeout.value!, interval: interval.value! },
      io,
      stop,
    );
  },
};

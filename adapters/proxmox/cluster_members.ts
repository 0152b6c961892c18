/**
 * The members of a PVE cluster as host power management needs them: online or not
 * (/cluster/status), their corosync quorum votes (/cluster/config/nodes `quorum_votes`, 1 when
 * absent or unreadable: corosync's default) and how many HA resources each holds
 * (/cluster/ha/status/current `service` entries; none when HA is not used), and how many guests
 * of any owner each runs (/cluster/resources), since proxscale's own listing sees only its VMs.
 *
 * May import: core/, adapters/proxmox/.
 */
import { z } from "zod";
import { err, ok, type Result } from "../../core/result.ts";
import type { PveClient } from "./client.ts";
import type { PveError } from "./errors.ts";

/**
 * One PVE cluster member; `guests` counts its VMs and containers of any owner, templates aside
 * (absent when /cluster/resources could not be read: then nobody knows it is empty).
 */
export type ClusterMember = {
  name: string;
  online: boolean;
  votes: number;
  haResources: number;
  guests?: number;
};

const flag = z.union([z.number(), z.boolean(), z.string()]).transform((v) =>
  v === 1 || v === true || v === "1"
);
const statusSchema = z.array(
  z.looseObject({ type: z.string(), name: z.string().optional(), online: flag.optional() }),
);
const configNodes = z.array(
  z.looseObject({
    node: z.string().optional(),
    name: z.string().optional(),
    quorum_votes: z.union([z.string(), z.number()]).optional(),
  }),
);
const haCurrent = z.array(
  z.looseObject({ type: z.string().optional(), node: z.string().optional() }),
);

/** Reads the cluster's members; only /cluster/status failing is an error. */
export async function readClusterMembers(
  client: PveClient,
): Promise<Result<ClusterMember[], PveError>> {
  const status = await client.call(statusSchema, "GET", "/cluster/status");
  if (!status.ok) return err(status.error);
  const votes = new Map<string, number>();
  const cfg = await client.call(configNodes, "GET", "/cluster/config/nodes");
  if (cfg.ok) {
    for (const n of cfg.value) {
      const name = n.node ?? n.name;
      const v = Number(n.quorum_votes ?? 1);
      if (name !== undefined && Number.isFinite(v) && v >= 0) votes.set(name, v);
    }
  }
  const ha = new Map<string, number>();
  const cur = await client.call(haCurrent, "GET", "/cluster/ha/status/current");
  if (cur.ok) {
    for (const e of cur.value) {
      if (e.type === "service" && e.node) ha.set(e.node, (ha.get(e.node) ?? 0) + 1);
    }
  }
  const guests = new Map<string, number>();
  const vms = await client.resourcesVm();
  if (vms.ok) {
    for (const v of vms.value) {
      if (v.template === true) continue;
      guests.set(v.node, (guests.get(v.node) ?? 0) + 1);
    }
  }
  return ok(
    status.value.filter((e) => e.type === "node" && e.name !== undefined).map((e) => ({
      name: e.name!,
      online: e.online === true,
      votes: votes.get(e.name!) ?? 1,
      haResources: ha.get(e.name!) ?? 0,
      ...(vms.ok ? { guests: guests.get(e.name!) ?? 0 } : {}),
    })),
  );
}

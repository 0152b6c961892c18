/**
 * zod schemas of the PVE responses proxscale reads. They accept what
 * PVE 8.0–8.4 really sends (nextid and memory as strings, booleans as 0/1, absent keys) and
 * reject wrong value types, so a response that does not look like PVE becomes a typed
 * `malformed` error at the boundary instead of a NaN deep inside placement.
 */
import { z } from "zod";

/** An integer that PVE may send as a JSON number or a numeric string. */
export const intLike = z.union([
  z.number().int(),
  z.string().regex(/^[+-]?\d+$/).transform(Number),
]);
/** A number that PVE may send as a string. */
export const numLike = z.union([
  z.number(),
  z.string().regex(/^[+-]?\d+(\.\d+)?$/).transform(Number),
]);
const flag = z.union([z.literal(0), z.literal(1), z.boolean()]).transform((v) =>
  v === 1 || v === true
);

/**
 * The UPID grammar: `UPID:node:pid:pstart:starttime:type:id:user:` (hex fields, trailing colon).
 */
export const UPID_RE =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;
export const upid = z.string().regex(UPID_RE, { error: "not a UPID" });

export const vmidString = intLike.pipe(z.number().int().min(100).max(999_999_999));

export const versionInfo = z.looseObject({ version: z.string(), release: z.string().optional() });

export const clusterStatusEntry = z.looseObject({
  type: z.string(),
  name: z.string().optional(),
  quorate: flag.optional(),
  online: flag.optional(),
});
export const clusterStatus = z.array(clusterStatusEntry);

/**
 * GET /cluster/ha/status/manager_status: the HA manager's own state. `node_status` maps each
 * node to online, maintenance (ha-manager crm-command node-maintenance enable), unknown, fence
 * or gone; a cluster that never used HA answers without `manager_status` or with it empty.
 */
export const haManagerStatus = z.looseObject({
  manager_status: z.looseObject({
    node_status: z.record(z.string(), z.string()).optional(),
  }).optional(),
});
export type HaManagerStatus = z.infer<typeof haManagerStatus>;

export const resourceVm = z.looseObject({
  type: z.enum(["qemu", "lxc"]),
  vmid: intLike,
  node: z.string(),
  status: z.string().optional(),
  name: z.string().optional(),
  template: flag.optional(),
  maxcpu: numLike.optional(),
  maxmem: numLike.optional(),
  uptime: numLike.optional(),
  tags: z.string().optional(),
  lock: z.string().optional(),
  pool: z.string().optional(),
});
export type ResourceVm = z.infer<typeof resourceVm>;
/** Any entry: unknown types (sdn, pool, storage …) are kept loose and filtered by the caller. */
export const resourceEntry = z.looseObject({ type: z.string() });
export const resources = z.array(resourceEntry);

export const nodeEntry = z.looseObject({
  node: z.string(),
  status: z.string(),
  maxcpu: numLike.optional(),
  maxmem: numLike.optional(),
  mem: numLike.optional(),
  cpu: numLike.optional(),
  ssl_fingerprint: z.string().optional(),
});
export type NodeEntry = z.infer<typeof nodeEntry>;
export const nodes = z.array(nodeEntry);

export const qemuListEntry = z.looseObject({
  vmid: intLike,
  name: z.string().optional(),
  status: z.string(),
  cpus: numLike.optional(),
  maxmem: numLike.optional(),
  template: flag.optional(),
  tags: z.string().optional(),
  lock: z.string().optional(),
});
export type QemuListEntry = z.infer<typeof qemuListEntry>;
export const qemuList = z.array(qemuListEntry);

/** GET config: string values mostly, integers for integer keys, 0/1 for booleans; digest always. */
export const vmConfig = z.looseObject({
  digest: z.string().min(1),
  name: z.string().optional(),
  description: z.string().optional(),
  tags: z.string().optional(),
  lock: z.string().optional(),
  memory: intLike.optional(),
  cores: intLike.optional(),
  sockets: intLike.optional(),
  template: flag.optional(),
}).catchall(z.union([z.string(), z.number(), z.boolean(), z.null()]));
export type VmConfig = z.infer<typeof vmConfig>;

export const vmStatus = z.looseObject({
  status: z.string(),
  qmpstatus: z.string().optional(),
  lock: z.string().optional(),
  name: z.string().optional(),
  tags: z.string().optional(),
});
export type VmStatusCurrent = z.infer<typeof vmStatus>;

export const taskStatus = z.looseObject({
  status: z.enum(["running", "stopped"]),
  exitstatus: z.string().optional(),
});
export type TaskStatus = z.infer<typeof taskStatus>;

export const storageStatus = z.looseObject({
  total: numLike.optional(),
  used: numLike.optional(),
  avail: numLike.optional(),
  enabled: flag.optional(),
  active: flag.optional(),
});

export const storageContent = z.array(z.looseObject({ volid: z.string() }));

export const pools = z.array(z.looseObject({ poolid: z.string() }));

/** Endpoints whose schema returns null (PUT config, pools). */
export const nullData = z.null();

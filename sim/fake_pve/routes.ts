/**
 * The endpoints of proxmox-api.md §9 as a table: path template, privileges to check (403 like
 * PVE), and a handler over PveModel. Listings filter silently by privilege (§4.5). The server
 * (server.ts) owns transport, authentication, faults and the envelope.
 */
import { hasPriv, type Identity, missingPriv } from "./auth.ts";
import type { Part } from "./http_codec.ts";
import type { Outcome, Params, PveError, PveModel } from "./model.ts";
import { isDiskKey } from "./config_file.ts";
import { parseDrive, propGet } from "./property_string.ts";

/** What a handler sees. */
export type Ctx = {
  model: PveModel;
  id: Identity;
  params: Params;
  path: Record<string, string>;
  files: Part[];
  login?: (username: string, password: string) => Record<string, unknown> | undefined;
};

/** A handler's answer: data (plus `total` for task logs) or a PVE error. */
export type Answer = { ok: true; data: unknown; total?: number } | { ok: false; error: PveError };

/** One endpoint. `lockWait`: the server retries while the VM file lock is busy (§11.2). */
export type Route = {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  noAuth?: boolean;
  lockWait?: boolean;
  needs?: (c: Ctx) => Array<{ paths: string[]; privs: string[] }>;
  run: (c: Ctx) => Answer;
};

function from<T>(r: Outcome<T>): Answer {
  return r.ok ? { ok: true, data: r.value } : r;
}

function vmid(c: Ctx): number {
  return Number(c.path.vmid);
}

/** ACL paths that govern a VM: `/vms/<id>` and its pool. */
function vmPaths(m: PveModel, id: number): string[] {
  const pool = m.st.vms.get(id)?.pool;
  return pool ? [`/vms/${id}`, `/pool/${pool}`] : [`/vms/${id}`];
}

const CPU_KEYS = new Set([
  "cores",
  "sockets",
  "vcpus",
  "cpu",
  "cpulimit",
  "cpuunits",
  "affinity",
  "numa",
]);
const MEM_KEYS = new Set(["memory", "balloon", "shares"]);
const CI_KEYS = new Set([
  "ciuser",
  "cipassword",
  "citype",
  "ciupgrade",
  "cicustom",
  "sshkeys",
  "nameserver",
  "searchdomain",
]);

/** The VM.Config.* privilege a config key needs. */
export function configPriv(key: string, value?: string): string {
  if (CPU_KEYS.has(key)) return "VM.Config.CPU";
  if (MEM_KEYS.has(key)) return "VM.Config.Memory";
  if (CI_KEYS.has(key) || /^ipconfig\d+$/.test(key)) return "VM.Config.Cloudinit";
  if (/^net\d+$/.test(key)) return "VM.Config.Network";
  if (isDiskKey(key)) {
    const media = value !== undefined ? propGet(parseDrive(value).props, "media") : undefined;
    return media === "cdrom" || (value ?? "").startsWith("none")
      ? "VM.Config.CDROM"
      : "VM.Config.Disk";
  }
  if (/^unused\d+$/.test(key)) return "VM.Config.Disk";
  return "VM.Config.Options";
}

const NOT_CONFIG = new Set([
  "node",
  "vmid",
  "digest",
  "skiplock",
  "force",
  "revert",
  "background_delay",
  "delete",
  "pool",
  "storage",
  "start",
]);

function configNeeds(c: Ctx, paths: string[]) {
  const privs = new Set<string>();
  for (const [k, v] of Object.entries(c.params)) {
    if (!NOT_CONFIG.has(k)) privs.add(configPriv(k, v));
  }
  for (const k of (c.params.delete ?? "").split(/[,;\s]+/).filter((x) => x)) {
    privs.add(configPriv(k));
  }
  return [...privs].sort().map((p) => ({ paths, privs: [p] }));
}

function newDiskStorages(params: Params): string[] {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(params)) {
    if (!isDiskKey(k)) continue;
    const m = /^([^/:\s]+):(\d+(\.\d+)?|cloudinit)(,|$)/.exec(v);
    if (m) out.add(m[1]!);
  }
  if (params.storage) out.add(params.storage);
  return [...out];
}

function ownTask(c: Ctx, user: string): boolean {
  return user === c.id.full || (!c.id.tokenid && user.startsWith(`${c.id.userid}!`));
}

function taskAccess(c: Ctx): Answer | undefined {
  const t = c.model.task(c.path.upid ?? "");
  if (!t || t.node !== c.path.node || ownTask(c, t.user)) return undefined;
  if (hasPriv(c.id, [`/nodes/${c.path.node}`], "Sys.Audit")) return undefined;
  return {
    ok: false,
    error: { status: 403, message: `Permission check failed (/nodes/${c.path.node}, Sys.Audit)` },
  };
}

const DS_READ = ["Datastore.Audit", "Datastore.AllocateSpace"];

/** Every endpoint the fake serves. */
export const ROUTES: Route[] = [
  { method: "GET", path: "/version", run: (c) => ({ ok: true, data: c.model.version() }) },
  {
    method: "GET",
    path: "/access/domains",
    noAuth: true,
    run: () => ({
      ok: true,
      data: [
        { realm: "pam", type: "pam", comment: "Linux PAM standard authentication" },
        { realm: "pve", type: "pve", comment: "Proxmox VE authentication server" },
      ],
    }),
  },
  {
    method: "POST",
    path: "/access/ticket",
    noAuth: true,
    run: (c) => {
      const user = c.params.username ?? "";
      const full = user.includes("@") || !c.params.realm ? user : `${user}@${c.params.realm}`;
      const r = c.login?.(full, c.params.password ?? "");
      return r
        ? { ok: true, data: r }
        : { ok: false, error: { status: 401, message: "authentication failure" } };
    },
  },
  {
    method: "GET",
    path: "/cluster/status",
    needs: () => [{ paths: ["/"], privs: ["Sys.Audit"] }],
    run: (c) => ({ ok: true, data: c.model.clusterStatus() }),
  },
  { method: "GET", path: "/cluster/nextid", run: (c) => from(c.model.nextid(c.params.vmid)) },
  {
    method: "GET",
    path: "/cluster/options",
    run: (c) => {
      const { lower, upper } = c.model.st.nextIdRange;
      return {
        ok: true,
        data: {
          "next-id": { lower: String(lower), upper: String(upper) },
          mac_prefix: c.model.st.macPrefix,
          "allowed-tags": [],
        },
      };
    },
  },
  {
    method: "PUT",
    path: "/cluster/options",
    needs: () => [{ paths: ["/"], privs: ["Sys.Modify"] }],
    run: (c) => {
      if (c.params.delete?.split(",").includes("next-id")) c.model.setNextIdRange(100, 1_000_000);
      const v = c.params["next-id"];
      if (v !== undefined) {
        const lower = Number(/lower=(\d+)/.exec(v)?.[1] ?? 100);
        const upper = Number(/upper=(\d+)/.exec(v)?.[1] ?? 1_000_000);
        if (lower < 100 || upper > 1_000_000_000 || lower > upper) {
          return {
            ok: false,
            error: {
              status: 400,
              message: "Parameter verification failed.",
              errors: {
                "next-id": "invalid format - lower must be ≤ upper, within [100, 1000000000]\n",
              },
            },
          };
        }
        c.model.setNextIdRange(lower, upper);
      }
      return { ok: true, data: null };
    },
  },
  {
    method: "GET",
    path: "/cluster/resources",
    run: (c) => {
      const r = c.model.resources(c.params.type);
      if (!r.ok) return r;
      const visible = r.value.filter((e) => {
        switch (e.type) {
          case "qemu":
            return hasPriv(c.id, vmPaths(c.model, e.vmid as number), "VM.Audit");
          case "node":
            return hasPriv(c.id, [`/nodes/${e.node}`], "Sys.Audit");
          case "storage":
            return DS_READ.some((p) => hasPriv(c.id, [`/storage/${e.storage}`], p));
          case "pool":
            return hasPriv(c.id, [`/pool/${e.pool}`], "Pool.Audit");
          default:
            return hasPriv(c.id, ["/"], "Sys.Audit");
        }
      }).map((e) => {
        if (
          e.type === "qemu" && e.pool !== undefined &&
          !hasPriv(c.id, [`/pool/${e.pool}`], "Pool.Audit")
        ) {
          const { pool: _pool, ...rest } = e;
          return rest;
        }
        return e;
      });
      return { ok: true, data: visible };
    },
  },
  {
    method: "GET",
    path: "/nodes",
    run: (c) => ({
      ok: true,
      data: c.model.nodes().map((n) => {
        if (hasPriv(c.id, [`/nodes/${n.node}`], "Sys.Audit")) return n;
        const { node, id, type, status, level, ssl_fingerprint } = n;
        return { node, id, type, status, level, ssl_fingerprint };
      }),
    }),
  },
  {
    method: "GET",
    path: "/nodes/{node}/status",
    needs: (c) => [{ paths: [`/nodes/${c.path.node}`], privs: ["Sys.Audit"] }],
    run: (c) => from(c.model.nodeStatus(c.path.node!)),
  },
  {
    method: "GET",
    path: "/nodes/{node}/certificates/info",
    run: (c) => ({
      ok: true,
      data: [{
        filename: "pve-ssl.pem",
        fingerprint: c.model.fingerprint,
        subject: "/CN=localhost",
        issuer: "/CN=Proxmox Virtual Environment fake CA",
        san: ["localhost", "127.0.0.1"],
      }],
    }),
  },
  {
    method: "GET",
    path: "/nodes/{node}/qemu",
    run: (c) => {
      const r = c.model.listQemu(c.path.node!, c.params.full === "1");
      if (!r.ok) return r;
      return {
        ok: true,
        data: r.value.filter((v) => hasPriv(c.id, vmPaths(c.model, v.vmid as number), "VM.Audit")),
      };
    },
  },
  {
    method: "POST",
    path: "/nodes/{node}/qemu",
    needs: (c) => {
      const alloc = c.params.pool
        ? [`/vms/${c.params.vmid}`, `/pool/${c.params.pool}`]
        : [`/vms/${c.params.vmid}`];
      return [
        { paths: alloc, privs: ["VM.Allocate"] },
        ...newDiskStorages(c.params).map((s) => ({
          paths: [`/storage/${s}`],
          privs: ["Datastore.AllocateSpace"],
        })),
        ...configNeeds(c, alloc),
      ];
    },
    run: (c) => from(c.model.createVm(c.path.node!, c.params, c.id.full)),
  },
  {
    method: "GET",
    path: "/nodes/{node}/qemu/{vmid}",
    needs: (c) => [{ paths: vmPaths(c.model, vmid(c)), privs: ["VM.Audit"] }],
    run: () => ({
      ok: true,
      data: ["config", "status", "clone", "resize", "template", "agent"].map((subdir) => ({
        subdir,
      })),
    }),
  },
  {
    method: "POST",
    path: "/nodes/{node}/qemu/{vmid}/clone",
    needs: (c) => {
      const alloc = c.params.pool
        ? [`/vms/${c.params.newid}`, `/pool/${c.params.pool}`]
        : [`/vms/${c.params.newid}`];
      return [
        { paths: vmPaths(c.model, vmid(c)), privs: ["VM.Clone"] },
        { paths: alloc, privs: ["VM.Allocate"] },
        ...(c.params.storage
          ? [{ paths: [`/storage/${c.params.storage}`], privs: ["Datastore.AllocateSpace"] }]
          : []),
      ];
    },
    run: (c) => from(c.model.cloneVm(c.path.node!, vmid(c), c.params, c.id.full)),
  },
  {
    method: "GET",
    path: "/nodes/{node}/qemu/{vmid}/config",
    needs: (c) => [{ paths: vmPaths(c.model, vmid(c)), privs: ["VM.Audit"] }],
    run: (c) => from(c.model.getConfig(c.path.node!, vmid(c))),
  },
  {
    method: "POST",
    path: "/nodes/{node}/qemu/{vmid}/config",
    lockWait: true,
    needs: (c) => configNeeds(c, vmPaths(c.model, vmid(c))),
    run: (c) => from(c.model.updateConfig(c.path.node!, vmid(c), c.params, c.id.full, "async")),
  },
  {
    method: "PUT",
    path: "/nodes/{node}/qemu/{vmid}/config",
    lockWait: true,
    needs: (c) => configNeeds(c, vmPaths(c.model, vmid(c))),
    run: (c) => from(c.model.updateConfig(c.path.node!, vmid(c), c.params, c.id.full, "sync")),
  },
  {
    method: "PUT",
    path: "/nodes/{node}/qemu/{vmid}/resize",
    needs: (c) => [{ paths: vmPaths(c.model, vmid(c)), privs: ["VM.Config.Disk"] }],
    run: (c) => from(c.model.resizeVm(c.path.node!, vmid(c), c.params, c.id.full)),
  },
  ...(["start", "stop", "shutdown", "reboot"] as const).map((action): Route => ({
    method: "POST",
    path: `/nodes/{node}/qemu/{vmid}/status/${action}`,
    needs: (c) => [{ paths: vmPaths(c.model, vmid(c)), privs: ["VM.PowerMgmt"] }],
    run: (c) => from(c.model.powerVm(c.path.node!, vmid(c), action, c.params, c.id.full)),
  })),
  {
    method: "GET",
    path: "/nodes/{node}/qemu/{vmid}/status/current",
    needs: (c) => [{ paths: vmPaths(c.model, vmid(c)), privs: ["VM.Audit"] }],
    run: (c) => from(c.model.statusCurrent(c.path.node!, vmid(c))),
  },
  {
    method: "DELETE",
    path: "/nodes/{node}/qemu/{vmid}",
    needs: (c) => [{ paths: vmPaths(c.model, vmid(c)), privs: ["VM.Allocate"] }],
    run: (c) => from(c.model.destroyVm(c.path.node!, vmid(c), c.params, c.id.full)),
  },
  {
    method: "POST",
    path: "/nodes/{node}/qemu/{vmid}/template",
    needs: (c) => [{ paths: vmPaths(c.model, vmid(c)), privs: ["VM.Allocate"] }],
    run: (c) => from(c.model.templateVm(c.path.node!, vmid(c), c.id.full)),
  },
  {
    method: "GET",
    path: "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces",
    needs: (c) => [{ paths: vmPaths(c.model, vmid(c)), privs: ["VM.Monitor"] }],
    run: (c) => {
      const cur = c.model.getConfig(c.path.node!, vmid(c));
      if (!cur.ok) return cur;
      if (!/^(enabled=)?1/.test(String(cur.value.agent ?? ""))) {
        return { ok: false, error: { status: 500, message: "No QEMU guest agent configured" } };
      }
      const vm = c.model.st.vms.get(vmid(c))!;
      if (vm.status !== "running") {
        return { ok: false, error: { status: 500, message: `VM ${vm.vmid} is not running` } };
      }
      const mac = /=([0-9A-F:]{17})/.exec(String(cur.value.net0 ?? ""))?.[1]?.toLowerCase() ??
        "bc:24:11:00:00:00";
      const ip = `10.1.${Math.floor(vm.vmid / 250) % 250}.${(vm.vmid % 250) + 2}`;
      return {
        ok: true,
        data: {
          result: [{
            name: "eth0",
            "hardware-address": mac,
            "ip-addresses": [{ "ip-address": ip, "ip-address-type": "ipv4", prefix: 24 }],
            statistics: {},
          }],
        },
      };
    },
  },
  {
    method: "GET",
    path: "/nodes/{node}/tasks",
    run: (c) => {
      const f: { vmid?: number; typefilter?: string; source?: string } = {};
      if (c.params.vmid) f.vmid = Number(c.params.vmid);
      if (c.params.typefilter) f.typefilter = c.params.typefilter;
      if (c.params.source) f.source = c.params.source;
      const r = c.model.listTasks(c.path.node!, f);
      if (!r.ok) return r;
      const all = hasPriv(c.id, [`/nodes/${c.path.node}`], "Sys.Audit");
      return { ok: true, data: r.value.filter((t) => all || ownTask(c, t.user as string)) };
    },
  },
  {
    method: "GET",
    path: "/nodes/{node}/tasks/{upid}/status",
    run: (c) => taskAccess(c) ?? from(c.model.taskStatus(c.path.node!, c.path.upid!)),
  },
  {
    method: "GET",
    path: "/nodes/{node}/tasks/{upid}/log",
    run: (c) => {
      const denied = taskAccess(c);
      if (denied) return denied;
      const r = c.model.taskLog(
        c.path.node!,
        c.path.upid!,
        Number(c.params.start ?? 0),
        Number(c.params.limit ?? 50),
      );
      return r.ok ? { ok: true, data: r.value.lines, total: r.value.total } : r;
    },
  },
  {
    method: "DELETE",
    path: "/nodes/{node}/tasks/{upid}",
    run: (c) => taskAccess(c) ?? from(c.model.stopTask(c.path.node!, c.path.upid!)),
  },
  {
    method: "GET",
    path: "/nodes/{node}/storage",
    run: (c) => {
      const f: { content?: string; enabled?: boolean } = {};
      if (c.params.content) f.content = c.params.content;
      if (c.params.enabled === "1") f.enabled = true;
      const r = c.model.listStorage(c.path.node!, f);
      if (!r.ok) return r;
      return {
        ok: true,
        data: r.value.filter((s) =>
          DS_READ.some((p) => hasPriv(c.id, [`/storage/${s.storage}`], p))
        ),
      };
    },
  },
  {
    method: "GET",
    path: "/nodes/{node}/storage/{storage}/status",
    needs: (c) => [{ paths: [`/storage/${c.path.storage}`], privs: DS_READ }],
    run: (c) => from(c.model.storageStatus(c.path.node!, c.path.storage!)),
  },
  {
    method: "GET",
    path: "/nodes/{node}/storage/{storage}/content",
    needs: (c) => [{ paths: [`/storage/${c.path.storage}`], privs: DS_READ }],
    run: (c) => {
      const f: { content?: string; vmid?: number } = {};
      if (c.params.content) f.content = c.params.content;
      if (c.params.vmid) f.vmid = Number(c.params.vmid);
      return from(c.model.storageContent(c.path.node!, c.path.storage!, f));
    },
  },
  {
    method: "POST",
    path: "/nodes/{node}/storage/{storage}/upload",
    needs: (
      c,
    ) => [{ paths: [`/storage/${c.path.storage}`], privs: ["Datastore.AllocateTemplate"] }],
    run: (c) => {
      const file = c.files.find((p) => p.filename !== undefined);
      const errors: Record<string, string> = {};
      if (c.params.content === undefined) {
        errors.content = "property is missing and it is not optional";
      }
      if (!file) errors.filename = "property is missing and it is not optional";
      if (Object.keys(errors).length) {
        return {
          ok: false,
          error: { status: 400, message: "Parameter verification failed.", errors },
        };
      }
      const filename = c.params.filename ?? file!.filename!;
      return from(
        c.model.upload(c.path.node!, c.path.storage!, {
          content: c.params.content!,
          filename,
          size: file!.data.length,
        }, c.id.full),
      );
    },
  },
  {
    method: "DELETE",
    path: "/nodes/{node}/storage/{storage}/content/{volume}",
    needs: (c) => [{ paths: [`/storage/${c.path.storage}`], privs: ["Datastore.Allocate"] }],
    run: (c) =>
      from(c.model.deleteVolume(c.path.node!, c.path.storage!, c.path.volume!, c.id.full)),
  },
  {
    method: "GET",
    path: "/pools",
    run: (c) => {
      const r = c.model.listPools(c.params.poolid, c.params.type);
      if (!r.ok) return r;
      return {
        ok: true,
        data: r.value.filter((p) => hasPriv(c.id, [`/pool/${p.poolid}`], "Pool.Audit")),
      };
    },
  },
  {
    method: "POST",
    path: "/pools",
    needs: (c) => [{ paths: [`/pool/${c.params.poolid}`], privs: ["Pool.Allocate"] }],
    run: (c) => {
      if (!c.params.poolid) {
        return {
          ok: false,
          error: {
            status: 400,
            message: "Parameter verification failed.",
            errors: { poolid: "property is missing and it is not optional" },
          },
        };
      }
      return from(c.model.createPool(c.params.poolid, c.params.comment));
    },
  },
  {
    method: "PUT",
    path: "/pools",
    needs: (c) => [{ paths: [`/pool/${c.params.poolid}`], privs: ["Pool.Allocate"] }],
    run: (c) => from(c.model.updatePool(c.params)),
  },
  {
    method: "DELETE",
    path: "/pools",
    needs: (c) => [{ paths: [`/pool/${c.params.poolid}`], privs: ["Pool.Allocate"] }],
    run: (c) => from(c.model.deletePool(c.params.poolid ?? "")),
  },
  {
    method: "GET",
    path: "/pools/{poolid}",
    needs: (c) => [{ paths: [`/pool/${c.path.poolid}`], privs: ["Pool.Audit"] }],
    run: (c) => {
      const r = c.model.listPools(c.path.poolid, c.params.type);
      if (!r.ok) return r;
      const { poolid: _p, ...rest } = r.value[0]!;
      return { ok: true, data: rest };
    },
  },
  {
    method: "PUT",
    path: "/pools/{poolid}",
    needs: (c) => [{ paths: [`/pool/${c.path.poolid}`], privs: ["Pool.Allocate"] }],
    run: (c) => from(c.model.updatePool({ ...c.params, poolid: c.path.poolid! })),
  },
  {
    method: "DELETE",
    path: "/pools/{poolid}",
    needs: (c) => [{ paths: [`/pool/${c.path.poolid}`], privs: ["Pool.Allocate"] }],
    run: (c) => from(c.model.deletePool(c.path.poolid!)),
  },
];

/** Checks a route's privileges: the 403 error, or undefined. */
export function checkRoute(route: Route, c: Ctx): PveError | undefined {
  const needs = route.needs?.(c);
  const msg = needs ? missingPriv(c.id, needs) : undefined;
  return msg ? { status: 403, message: msg } : undefined;
}

/** Matches a path against the table: the route and its path parameters, or why not. */
export function matchRoute(
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | { pathKnown: boolean } {
  const segs = path.split("/").filter((s) => s !== "");
  let pathKnown = false;
  for (const r of ROUTES) {
    const tsegs = r.path.split("/").filter((s) => s !== "");
    if (tsegs.length !== segs.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < tsegs.length && ok; i++) {
      const t = tsegs[i]!;
      if (t.startsWith("{")) {
        try {
          params[t.slice(1, -1)] = decodeURIComponent(segs[i]!);
        } catch {
          ok = false;
        }
      } else ok = t === segs[i];
    }
    if (!ok) continue;
    pathKnown = true;
    if (r.method === method) return { route: r, params };
  }
  return { pathKnown };
}

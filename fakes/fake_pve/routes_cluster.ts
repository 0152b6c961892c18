/** Access, cluster, node, storage and pool endpoints of the fake PVE. */
import { hasPriv } from "./auth.ts";
import { DS_READ, from, type Route, vmPaths } from "./route_kit.ts";

/** PVE 8's privileges (what a root token holds on "/"). */
const ALL_PRIVILEGES = [
  "Datastore.Allocate",
  "Datastore.AllocateSpace",
  "Datastore.AllocateTemplate",
  "Datastore.Audit",
  "Group.Allocate",
  "Mapping.Audit",
  "Mapping.Modify",
  "Mapping.Use",
  "Permissions.Modify",
  "Pool.Allocate",
  "Pool.Audit",
  "Realm.Allocate",
  "Realm.AllocateUser",
  "SDN.Allocate",
  "SDN.Audit",
  "SDN.Use",
  "Sys.AccessNetwork",
  "Sys.Audit",
  "Sys.Console",
  "Sys.Incoming",
  "Sys.Modify",
  "Sys.PowerMgmt",
  "Sys.Syslog",
  "User.Modify",
  "VM.Allocate",
  "VM.Audit",
  "VM.Backup",
  "VM.Clone",
  "VM.Config.CDROM",
  "VM.Config.CPU",
  "VM.Config.Cloudinit",
  "VM.Config.Disk",
  "VM.Config.HWType",
  "VM.Config.Memory",
  "VM.Config.Network",
  "VM.Config.Options",
  "VM.Console",
  "VM.Migrate",
  "VM.Monitor",
  "VM.PowerMgmt",
  "VM.Snapshot",
  "VM.Snapshot.Rollback",
];

/** Access, cluster, node, storage and pool endpoints of the fake PVE. */
export const CLUSTER_ROUTES: Route[] = [
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
    // The caller's own privileges per ACL path, 1 when they propagate (PVE's format); any
    // authenticated caller may read its own. `proxscale diagnose` compares them with its needs.
    method: "GET",
    path: "/access/permissions",
    run: (c) => {
      const out: Record<string, Record<string, number>> = {};
      if (!c.id.acls) {
        out["/"] = Object.fromEntries(ALL_PRIVILEGES.map((p) => [p, 1]));
        return { ok: true, data: out };
      }
      for (const a of c.id.acls) {
        const privs = a.privs.includes("*") ? ALL_PRIVILEGES : a.privs;
        const at = out[a.path] ??= {};
        for (const p of privs) at[p] = Math.max(at[p] ?? 0, a.propagate === false ? 0 : 1);
      }
      return { ok: true, data: out };
    },
  },
  {
    method: "GET",
    path: "/cluster/status",
    needs: () => [{ paths: ["/"], privs: ["Sys.Audit"] }],
    run: (c) => ({ ok: true, data: c.model.clusterStatus() }),
  },
  {
    method: "GET",
    path: "/cluster/config/nodes",
    needs: () => [{ paths: ["/"], privs: ["Sys.Audit"] }],
    run: (c) => ({ ok: true, data: c.model.clusterConfigNodes() }),
  },
  {
    method: "GET",
    path: "/cluster/ha/status/current",
    needs: () => [{ paths: ["/"], privs: ["Sys.Audit"] }],
    run: (c) => ({ ok: true, data: c.model.haStatusCurrent() }),
  },
  {
    method: "GET",
    path: "/cluster/ha/status/manager_status",
    needs: () => [{ paths: ["/"], privs: ["Sys.Audit"] }],
    run: (c) => ({ ok: true, data: c.model.haManagerStatus() }),
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
          data: file!.data,
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

/** QEMU VM and task endpoints of the fake PVE. */
import { hasPriv } from "./auth.ts";
import { hostpciRootOnly } from "./hostpci_format.ts";
import {
  type Answer,
  configNeeds,
  type Ctx,
  from,
  importSourceNeeds,
  newDiskStorages,
  ownTask,
  type Route,
  taskAccess,
  vmid,
  vmPaths,
} from "./route_kit.ts";

/** Raw host PCI devices are root@pam's alone (pci.ts). */
function rootOnly(c: Ctx): Answer | undefined {
  const e = hostpciRootOnly(c.id.full, c.params);
  return e ? { ok: false, error: e } : undefined;
}

/** QEMU VM and task endpoints of the fake PVE. */
export const VM_ROUTES: Route[] = [
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
        ...importSourceNeeds(c.params),
        ...configNeeds(c, alloc),
      ];
    },
    run: (c) => rootOnly(c) ?? from(c.model.createVm(c.path.node!, c.params, c.id.full)),
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
    run: (c) => from(c.model.getConfig(c.path.node!, vmid(c), c.params.current === "1")),
  },
  {
    method: "GET",
    path: "/nodes/{node}/qemu/{vmid}/pending",
    needs: (c) => [{ paths: vmPaths(c.model, vmid(c)), privs: ["VM.Audit"] }],
    run: (c) => from(c.model.pending(c.path.node!, vmid(c))),
  },
  {
    method: "POST",
    path: "/nodes/{node}/qemu/{vmid}/config",
    lockWait: true,
    needs: (c) => configNeeds(c, vmPaths(c.model, vmid(c))),
    run: (c) =>
      rootOnly(c) ??
        from(c.model.updateConfig(c.path.node!, vmid(c), c.params, c.id.full, "async")),
  },
  {
    method: "PUT",
    path: "/nodes/{node}/qemu/{vmid}/config",
    lockWait: true,
    needs: (c) => configNeeds(c, vmPaths(c.model, vmid(c))),
    run: (c) =>
      rootOnly(c) ??
        from(c.model.updateConfig(c.path.node!, vmid(c), c.params, c.id.full, "sync")),
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
];

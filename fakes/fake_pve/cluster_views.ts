/**
 * The cluster-wide listings as PVE shapes them: cluster status, nextid, /cluster/resources
 * (statistics from the lagging snapshot, identity, tags, lock and pool immediate, as on PVE),
 * /nodes with the certificate fingerprint, and node status. PveModel delegates here.
 */
import { isQuorate } from "./host_power.ts";
import { hostStats, resourceVm, type StatsSnapshot } from "./inventory.ts";
import type { HostState, ModelState, Outcome } from "./state.ts";

/** `GET /cluster/status` */
export function clusterStatusView(st: ModelState): Record<string, unknown>[] {
  const hosts = [...st.hosts.values()];
  return [
    {
      type: "cluster",
      id: "cluster",
      name: st.clusterName,
      version: 4,
      quorate: isQuorate(st) ? 1 : 0,
      nodes: hosts.length,
    },
    ...hosts.map((h, i) => ({
      type: "node",
      id: `node/${h.name}`,
      name: h.name,
      nodeid: h.nodeid,
      ip: h.ip,
      local: i === 0 ? 1 : 0,
      online: h.online ? 1 : 0,
      level: "",
    })),
  ];
}

/**
 * `GET /cluster/ha/status/manager_status`: the CRM's view. Every node is `online` (or
 * `unknown` while unreachable) unless it was put into maintenance, which shows as
 * `maintenance`; the quorum entry names the node that answered.
 */
export function haManagerStatusView(st: ModelState, now: number): Record<string, unknown> {
  const hosts = [...st.hosts.values()];
  const nodeStatus: Record<string, string> = {};
  for (const h of hosts) {
    nodeStatus[h.name] = st.haMaintenance.has(h.name)
      ? "maintenance"
      : h.online
      ? "online"
      : "unknown";
  }
  const master = hosts.find((h) => h.online)?.name ?? hosts[0]?.name ?? "";
  return {
    manager_status: {
      master_node: master,
      node_status: nodeStatus,
      service_status: {},
      timestamp: Math.floor(now / 1000),
    },
    quorum: { node: master, quorate: isQuorate(st) ? "1" : "0" },
  };
}

/** `GET /cluster/nextid[?vmid=N]`: the lowest free VMID as a string; nothing is reserved. */
export function nextidView(st: ModelState, vmid?: string): Outcome<string> {
  if (vmid !== undefined) {
    const e = /^[+-]?\d+$/.test(vmid)
      ? (/^[1-9][0-9]{2,8}$/.test(vmid)
        ? undefined
        : "invalid format - value does not look like a valid VM ID\n")
      : `type check ('integer') failed - got '${vmid}'`;
    if (e) {
      return {
        ok: false,
        error: st.fail(400, "Parameter verification failed.", { vmid: e }),
      };
    }
    if (st.vms.has(Number(vmid))) {
      return {
        ok: false,
        error: st.fail(400, "Parameter verification failed.", {
          vmid: `VM ${vmid} already exists`,
        }),
      };
    }
    return { ok: true, value: vmid };
  }
  const { lower, upper } = st.nextIdRange;
  for (let i = lower; i < upper; i++) {
    if (!st.vms.has(i)) return { ok: true, value: String(i) };
  }
  return {
    ok: false,
    error: st.fail(500, `unable to get any free VMID in range [${lower}, ${upper}]`),
  };
}

/** `GET /cluster/resources[?type=vm|storage|node|sdn]` (unfiltered by permissions). */
export function resourcesView(
  st: ModelState,
  snap: StatsSnapshot,
  type?: string,
): Outcome<Record<string, unknown>[]> {
  if (type !== undefined && !["vm", "storage", "node", "sdn"].includes(type)) {
    return {
      ok: false,
      error: st.fail(400, "Parameter verification failed.", {
        type: `value '${type}' does not have a value in the enumeration 'vm, storage, node, sdn'`,
      }),
    };
  }
  const out: Record<string, unknown>[] = [];
  if (!type || type === "vm") {
    for (const vm of [...st.vms.values()].sort((a, b) => a.vmid - b.vmid)) {
      out.push(resourceVm(st, vm, snap.vms.get(vm.vmid)));
    }
  }
  if (!type || type === "node") {
    for (const h of st.hosts.values()) {
      const e: Record<string, unknown> = {
        id: `node/${h.name}`,
        type: "node",
        node: h.name,
        status: h.online ? "online" : "offline",
        level: "",
        "cgroup-mode": 2,
      };
      if (h.online) Object.assign(e, snap.hosts.get(h.name));
      out.push(e);
    }
  }
  if (!type || type === "storage") {
    for (const h of st.hosts.values()) {
      for (const s of st.storagesOn(h.name)) {
        const e: Record<string, unknown> = {
          id: `storage/${h.name}/${s.id}`,
          type: "storage",
          storage: s.id,
          node: h.name,
          plugintype: s.type,
          status: h.online && s.enabled ? "available" : "unknown",
          shared: s.shared ? 1 : 0,
          content: [...s.content].sort().join(","),
        };
        if (h.online && s.enabled) {
          e.maxdisk = s.total;
          e.disk = st.usedBytes(h.name, s);
        }
        out.push(e);
      }
    }
  }
  if (!type || type === "sdn") {
    for (const h of st.hosts.values()) {
      out.push({
        id: `sdn/${h.name}/localnetwork`,
        type: "sdn",
        sdn: "localnetwork",
        node: h.name,
        status: "ok",
      });
    }
  }
  if (!type) {
    for (const p of st.pools.values()) {
      out.push({ id: `/pool/${p.poolid}`, type: "pool", pool: p.poolid });
    }
  }
  return { ok: true, value: out };
}

/** `GET /nodes` */
export function nodesView(st: ModelState, fingerprint: string): Record<string, unknown>[] {
  return [...st.hosts.values()].map((h) => {
    const e: Record<string, unknown> = {
      node: h.name,
      id: `node/${h.name}`,
      type: "node",
      status: h.online ? "online" : "offline",
      level: "",
      ssl_fingerprint: fingerprint,
    };
    if (h.online) Object.assign(e, hostStats(st, h, st.time()));
    return e;
  });
}

/** `GET /nodes/{node}/status` */
export function nodeStatusView(st: ModelState, h: HostState): Outcome<Record<string, unknown>> {
  {
    const s = hostStats(st, h, st.time());
    return {
      ok: true,
      value: {
        uptime: s.uptime,
        idle: 0,
        cpu: s.cpu,
        wait: 0.0001,
        loadavg: ["0.52", "0.61", "0.70"],
        kversion:
          "Linux 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z) x86_64",
        "current-kernel": {
          sysname: "Linux",
          release: "6.8.12-4-pve",
          version: "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4",
          machine: "x86_64",
        },
        "boot-info": { mode: "efi", secureboot: 0 },
        cpuinfo: {
          model: "AMD EPYC 7302P 16-Core Processor",
          cpus: h.cpus,
          sockets: 1,
          cores: h.cpus / 2,
          mhz: "2999.998",
          user_hz: 100,
          hvm: "1",
          flags: "fpu vme de pse",
        },
        memory: { total: h.memory, used: s.mem, free: h.memory - s.mem },
        swap: { total: 8589930496, used: 0, free: 8589930496 },
        ksm: { shared: 0 },
        rootfs: {
          total: h.rootfs,
          used: s.disk,
          free: h.rootfs - s.disk,
          avail: h.rootfs - s.disk,
        },
        pveversion: "pve-manager/8.4.1/2a5fa54a8503f96d",
      },
    };
  }
}

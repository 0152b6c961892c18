/**
 * The Proxmox half of `proxscale diagnose`: for one Provider, is the API reachable with the
 * token, which privileges does the token lack for what proxscale does (read from
 * `GET /access/permissions`, the caller's own effective ACLs, so nothing is tried for real), are
 * the configured hosts visible, are the templates and storages there on each host, and how much
 * of the VMID range is free. Each check is one line with the fix.
 */
import { z } from "zod";
import type { MachineTemplate, Provider } from "../core/model.ts";
import type { PveClient } from "../adapters/proxmox/client.ts";
import type { PveError } from "../adapters/proxmox/errors.ts";
import { templateLocality } from "../adapters/proxmox/template_hosts.ts";
import { hardwareTypeKeys } from "../adapters/proxmox/vm_options.ts";
import { gpuPrivilegeNeeds } from "./diagnose_gpu.ts";

/** One line of the diagnosis. */
export type Check = { name: string; ok: boolean; detail: string; fix?: string };

/**
 * A privilege proxscale needs, where, and for what; `or`: another grant PVE accepts instead
 * (download-url takes Sys.AccessNetwork on the host in place of Sys.Audit + Sys.Modify on `/`).
 */
export type PrivilegeNeed = {
  priv: string;
  path: string;
  why: string;
  or?: { priv: string; path: string };
};

/** `GET /access/permissions`: ACL path -> privilege -> 1 when it propagates to sub-paths. */
export type Permissions = Record<string, Record<string, number>>;

const uniq = <T>(xs: T[], key: (x: T) => string) => [
  ...new Map(xs.map((x) => [key(x), x])).values(),
];

function templateVmid(t: MachineTemplate, host: string): number | undefined {
  return t.source.kind === "clone" ? t.source.perHost?.[host] ?? t.source.templateVmid : undefined;
}

/** The daemon's default when `bootstrap.isoStorage` is unset (daemon/bootstrap.ts). */
const DEFAULT_ISO_STORAGE = "local";

/** Where a nocloudIso template's seed ISOs go. */
export function isoStorageOf(t: MachineTemplate): string {
  return t.bootstrap.isoStorage ?? DEFAULT_ISO_STORAGE;
}

/** Storages a template writes to: disks, the clone target, the bootstrap ISO. */
export function storagesOf(t: MachineTemplate): { storage: string; content: string }[] {
  const out = t.disks.map((d) => ({ storage: d.storage, content: "images" }));
  if (t.source.kind === "clone" && t.source.storage) {
    out.push({ storage: t.source.storage, content: "images" });
  }
  if (t.source.kind === "image") {
    out.push({ storage: t.source.storage, content: "images" });
    out.push({ storage: t.source.importStorage, content: "import" });
  }
  if (t.bootstrap.mode === "nocloudIso") {
    out.push({ storage: isoStorageOf(t), content: "iso" });
  }
  return uniq(out, (s) => `${s.storage}/${s.content}`);
}

/**
 * Every privilege the daemon's Proxmox calls need, on the path each is checked on, for `provider`
 * and the MachineTemplates that use it.
 */
export function privilegeNeeds(provider: Provider, templates: MachineTemplate[]): PrivilegeNeed[] {
  const needs: PrivilegeNeed[] = [];
  const vms = provider.resourcePool ? `/pool/${provider.resourcePool}` : "/vms";
  for (const h of provider.hosts) {
    needs.push({
      priv: "Sys.Audit",
      path: `/nodes/${h.name}`,
      why: `read host ${h.name}'s capacity`,
    });
  }
  needs.push({ priv: "VM.Audit", path: "/vms", why: "list the VMs proxscale manages" });
  needs.push({ priv: "VM.Allocate", path: vms, why: "create and destroy VMs" });
  needs.push({ priv: "VM.PowerMgmt", path: vms, why: "start and stop VMs" });
  for (const p of ["CPU", "Memory", "Disk", "Network", "Options"]) {
    needs.push({ priv: `VM.Config.${p}`, path: vms, why: "size, tag and configure new VMs" });
  }
  if (provider.resourcePool) {
    needs.push({
      priv: "Pool.Allocate",
      path: `/pool/${provider.resourcePool}`,
      why: `put VMs in pool ${provider.resourcePool}`,
    });
  }
  for (const t of templates) {
    if (t.bootstrap.mode === "pveCloudInit") {
      needs.push({ priv: "VM.Config.Cloudinit", path: vms, why: `cloud-init of ${t.name}` });
    }
    if (t.bootstrap.mode === "nocloudIso") {
      needs.push({ priv: "VM.Config.CDROM", path: vms, why: `attach ${t.name}'s NoCloud ISO` });
    }
    const hw = hardwareTypeKeys(t);
    if (hw.length) {
      needs.push({ priv: "VM.Config.HWType", path: vms, why: `set ${hw.join(", ")} (${t.name})` });
    }
    needs.push(...gpuPrivilegeNeeds(t, vms));
    const cpu = t.vm?.cpu?.type;
    if (cpu?.startsWith("custom-")) {
      // PVE checks custom CPU models on /nodes itself, not on a host's path.
      needs.push({ priv: "Sys.Audit", path: "/nodes", why: `use CPU model ${cpu} (${t.name})` });
    }
    for (const h of provider.hosts) {
      const id = templateVmid(t, h.name);
      if (id !== undefined) {
        needs.push({
          priv: "VM.Clone",
          path: `/vms/${id}`,
          why: `clone template ${id} (${t.name}) on ${h.name}`,
        });
      }
    }
    for (const s of storagesOf(t)) {
      needs.push({ priv: "Datastore.Audit", path: `/storage/${s.storage}`, why: "see storage" });
      needs.push({
        priv: s.content === "images" ? "Datastore.AllocateSpace" : "Datastore.AllocateTemplate",
        path: `/storage/${s.storage}`,
        why: s.content === "iso"
          ? `upload ${t.name}'s bootstrap ISO`
          : s.content === "import"
          ? `download ${t.name}'s cloud image (download-url)`
          : `allocate ${t.name}'s disks`,
      });
      // Seed ISOs outlive their VM; deleting one at registration or the claim's end is a
      // storage-level delete, which PVE guards with Datastore.Allocate, not AllocateSpace.
      if (s.content === "iso") {
        needs.push({
          priv: "Datastore.Allocate",
          path: `/storage/${s.storage}`,
          why: `delete ${t.name}'s bootstrap ISOs once nodes register`,
        });
      }
    }
    needs.push(...imageTemplateNeeds(provider, t));
    for (const n of t.network) {
      needs.push({
        priv: "SDN.Use",
        path: `/sdn/zones/localnetwork/${n.bridge}`,
        why: `attach ${n.slot} to bridge ${n.bridge}`,
      });
    }
  }
  return uniq(needs, (n) => `${n.priv}@${n.path}`);
}

/**
 * What building `t`'s template VMs from its cloud image needs: PVE fetching the URL
 * (Sys.Audit and Sys.Modify on `/`, or Sys.AccessNetwork on each host), and creating,
 * configuring, converting, cloning and deleting VMs in the template VMID range (checked on its
 * first VMID, which a grant on `/vms` or on each template VMID covers).
 */
function imageTemplateNeeds(provider: Provider, t: MachineTemplate): PrivilegeNeed[] {
  if (t.source.kind !== "image") return [];
  const needs: PrivilegeNeed[] = [];
  for (const h of provider.hosts) {
    if (t.source.perHost && !t.source.perHost.includes(h.name)) continue;
    for (const priv of ["Sys.Audit", "Sys.Modify"]) {
      needs.push({
        priv,
        path: "/",
        why: `let PVE on ${h.name} fetch ${t.name}'s image URL (download-url)`,
        or: { priv: "Sys.AccessNetwork", path: `/nodes/${h.name}` },
      });
    }
  }
  const range = provider.templateVmidRange;
  if (range) {
    const path = `/vms/${range.lower}`;
    const why = `build and clone ${t.name}'s template VMs in ${range.lower}-${range.upper}`;
    for (
      const priv of [
        "VM.Allocate",
        "VM.Clone",
        "VM.Config.Disk",
        "VM.Config.HWType",
        "VM.Config.Options",
      ]
    ) {
      needs.push({ priv, path, why });
    }
  }
  return needs;
}

/** Whether `perms` grant `priv` on `path` (directly, or propagated from a parent path). */
export function holds(perms: Permissions, path: string, priv: string): boolean {
  for (const [p, privs] of Object.entries(perms)) {
    const v = privs[priv];
    if (v === undefined) continue;
    if (p === path) return true;
    if (v !== 0 && (p === "/" || path.startsWith(`${p}/`))) return true;
  }
  return false;
}

const permissionsSchema = z.record(z.string(), z.record(z.string(), z.coerce.number()));
const storageList = z.array(z.looseObject({
  storage: z.string(),
  content: z.string().optional(),
  active: z.coerce.number().optional(),
  enabled: z.coerce.number().optional(),
}));

function pveFix(e: PveError, provider: Provider): string {
  switch (e.kind) {
    case "auth":
      return `check tokenId '${provider.tokenId}' and its secret (tokenSecret), and that the token is enabled and not expired`;
    case "permission":
      return "grant the privilege named in the message to the token (see the token rights lines)";
    default:
      return `check that ${provider.endpoint} is reachable from here (firewall, DNS) and tls.fingerprint / tls.caFile match the server's certificate`;
  }
}

/** PVE says `template: 1`; the client's schema may have turned it into `true`. */
function isTemplate(v: unknown): boolean {
  return v === true || v === 1 || v === "1";
}

/** All checks for one Provider, in the order they are printed. */
export async function pveChecks(
  provider: Provider,
  templates: MachineTemplate[],
  client: PveClient,
): Promise<Check[]> {
  const name = (what: string) => `pve ${provider.name}: ${what}`;
  const checks: Check[] = [];
  const version = await client.version();
  if (!version.ok) {
    checks.push({
      name: name("API reachable"),
      ok: false,
      detail: version.error.message,
      fix: pveFix(version.error, provider),
    });
    return checks; // nothing else can be asked
  }
  const v = version.value as { version?: string; release?: string };
  checks.push({
    name: name("API reachable"),
    ok: true,
    detail: `Proxmox VE ${v.version ?? "?"} at ${provider.endpoint} as ${provider.tokenId}`,
  });

  const perms = await client.call(permissionsSchema, "GET", "/access/permissions");
  if (!perms.ok) {
    checks.push({
      name: name("token rights"),
      ok: false,
      detail: `cannot read the token's permissions: ${perms.error.message}`,
      fix: pveFix(perms.error, provider),
    });
  } else {
    const missing = privilegeNeeds(provider, templates).filter((n) =>
      !holds(perms.value, n.path, n.priv) && !(n.or && holds(perms.value, n.or.path, n.or.priv))
    );
    if (missing.length === 0) {
      checks.push({
        name: name("token rights"),
        ok: true,
        detail: "every privilege proxscale uses is granted",
      });
    }
    for (const m of missing) {
      checks.push({
        name: name(`token rights ${m.priv} on ${m.path}`),
        ok: false,
        detail: `the token lacks ${m.priv} on ${m.path}, needed to ${m.why}`,
        fix:
          `pveum acl modify ${m.path} --tokens '${provider.tokenId}' --roles <a role with ${m.priv}>` +
          " (privilege-separated tokens also need it on their user)",
      });
    }
  }

  const nodes = await client.nodes();
  const online = new Map<string, string>();
  if (nodes.ok) {
    for (const n of nodes.value as { node: string; status?: string }[]) {
      online.set(n.node, n.status ?? "unknown");
    }
  }
  for (const h of provider.hosts) {
    const status = online.get(h.name);
    checks.push(
      !nodes.ok
        ? {
          name: name(`host ${h.name}`),
          ok: false,
          detail: nodes.error.message,
          fix: pveFix(nodes.error, provider),
        }
        : status === undefined
        ? {
          name: name(`host ${h.name}`),
          ok: false,
          detail: `not visible (visible: ${[...online.keys()].join(", ") || "none"})`,
          fix:
            "hosts[].name must be the PVE node name (pvecm nodes); an empty list means the token lacks Sys.Audit",
        }
        : {
          name: name(`host ${h.name}`),
          ok: status === "online",
          detail: status,
          ...(status === "online" ? {} : { fix: `bring ${h.name} back or remove it from hosts` }),
        },
    );
  }

  for (const h of provider.hosts.filter((x) => online.get(x.name) === "online")) {
    for (const t of templates) {
      // A shared template lives on one host: the template locality check below looks at it.
      if (t.source.kind === "clone" && t.source.perHost?.[h.name] === undefined) continue;
      const id = templateVmid(t, h.name);
      if (id === undefined) continue;
      const cfg = await client.vmConfig(h.name, id);
      const label = name(`template ${id} (${t.name}) on ${h.name}`);
      if (!cfg.ok) {
        checks.push({
          name: label,
          ok: false,
          detail: cfg.error.message,
          fix: cfg.error.kind === "notFound"
            ? `create the template on ${h.name} (qm clone/qm template) or set source.perHost.${h.name}`
            : pveFix(cfg.error, provider),
        });
      } else if (!isTemplate((cfg.value as { template?: unknown }).template)) {
        checks.push({
          name: label,
          ok: false,
          detail: `VM ${id} exists but is not a template`,
          fix: `qm template ${id} on ${h.name}`,
        });
      } else checks.push({ name: label, ok: true, detail: "present" });
    }
    const wanted = uniq(templates.flatMap(storagesOf), (s) => `${s.storage}/${s.content}`);
    if (wanted.length === 0) continue;
    const st = await client.call(
      storageList,
      "GET",
      `/nodes/${encodeURIComponent(h.name)}/storage`,
    );
    for (const s of wanted) {
      const label = name(`storage ${s.storage} (${s.content}) on ${h.name}`);
      if (!st.ok) {
        checks.push({
          name: label,
          ok: false,
          detail: st.error.message,
          fix: pveFix(st.error, provider),
        });
        continue;
      }
      const e = st.value.find((x) => x.storage === s.storage);
      const contents = (e?.content ?? "").split(",");
      if (!e) {
        checks.push({
          name: label,
          ok: false,
          detail: `not present (or not visible: Datastore.Audit) on ${h.name}`,
          fix: `add storage ${s.storage} to ${h.name} or change the MachineTemplate`,
        });
      } else if (!contents.includes(s.content)) {
        checks.push({
          name: label,
          ok: false,
          detail: `holds ${e.content ?? "nothing"}, not ${s.content}`,
          fix: `pvesm set ${s.storage} --content ${
            [...contents.filter((c) => c), s.content].join(",")
          }`,
        });
      } else if (e.active === 0 || e.enabled === 0) {
        checks.push({ name: label, ok: false, detail: "not active", fix: `enable ${s.storage}` });
      } else checks.push({ name: label, ok: true, detail: "present" });
    }
  }

  // Template locality: a single template serving several hosts must sit on shared storage,
  // or PVE refuses the clone on every other host.
  for (const t of templates) {
    const src = t.source;
    if (src.kind !== "clone" || src.templateVmid === undefined) continue;
    const uncovered = provider.hosts.map((h) => h.name).filter((h) =>
      src.perHost?.[h] === undefined
    );
    if (uncovered.length === 0) continue;
    checks.push(await localityCheck(client, provider, t, src, src.templateVmid, uncovered));
  }

  const vms = await client.resourcesVm();
  const { lower, upper } = provider.vmidRange;
  const size = upper - lower + 1;
  if (!vms.ok) {
    checks.push({
      name: name("VMID range headroom"),
      ok: false,
      detail: vms.error.message,
      fix: pveFix(vms.error, provider),
    });
  } else {
    const used = new Set(vms.value.map((x) => x.vmid).filter((id) => id >= lower && id <= upper));
    const free = size - used.size;
    checks.push({
      name: name("VMID range headroom"),
      ok: free > 0,
      detail: `${free} of ${size} VMIDs free in ${lower}-${upper}` +
        (free > 0 && free < size / 10 ? " (under 10% left)" : ""),
      ...(free > 0 ? {} : { fix: "widen vmidRange or remove VMs in it" }),
    });
  }
  return checks;
}

/** The name of the template locality check (`validate` points at it). */
export const TEMPLATE_LOCALITY_CHECK = "template locality";

/** Can every host that has no per-host copy clone the shared template? */
async function localityCheck(
  client: PveClient,
  provider: Provider,
  t: MachineTemplate,
  src: Extract<MachineTemplate["source"], { kind: "clone" }>,
  vmid: number,
  hosts: string[],
): Promise<Check> {
  const label = `pve ${provider.name}: ${TEMPLATE_LOCALITY_CHECK} of ${t.name} (template ${vmid})`;
  const l = await templateLocality(client, src, vmid, hosts);
  if (!l.ok) {
    return {
      name: label,
      ok: false,
      detail: l.error.message,
      fix: l.error.kind === "missing"
        ? `create template ${vmid} (qm template) or set source.clone.perHost`
        : pveFix(l.error, provider),
    };
  }
  const refused = hosts.filter((h) => !l.value.hosts.includes(h));
  if (refused.length === 0) {
    return {
      name: label,
      ok: true,
      detail: `its disks are on shared storage: ${hosts.join(", ")} can clone it`,
    };
  }
  return {
    name: label,
    ok: false,
    detail: `${l.value.why ?? "its disks are local"}; ${refused.join(", ")} cannot clone it`,
    fix: `move the template's disks to shared storage, or give each host its own template ` +
      `with source.clone.perHost (${refused.map((h) => `${h}: <vmid>`).join(", ")})`,
  };
}

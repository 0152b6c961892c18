/**
 * PCI endpoints of the fake PVE: cluster PCI resource mappings (`/cluster/mapping/pci`, with
 * PVE's Mapping.Audit / Mapping.Use / Mapping.Modify checks on `/mapping/pci[/<id>]`) and a
 * host's PCI devices and mediated-device types (`/nodes/{node}/hardware/pci`, Sys.Audit or
 * Sys.Modify on `/`). The model behind them is pci.ts.
 *
 * May import: fakes/fake_pve/.
 */
import { hasPriv } from "./auth.ts";
import { isConfigId } from "./hostpci_format.ts";
import { mdevTypesNow } from "./pci.ts";
import {
  hostDevices,
  mappingDigest,
  nodeEntries,
  normalizePciId,
  parseMapEntry,
  type PciMapping,
  pciState,
} from "./pci_inventory.ts";
import type { Answer, Ctx, Route } from "./route_kit.ts";

const SEE_MAPPING = ["Mapping.Modify", "Mapping.Use", "Mapping.Audit"];
const NODE_RE = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const PCI_PATH = "[a-f0-9]{4,}:[a-f0-9]{2}:[a-f0-9]{2}(?:\\.[a-f0-9])?";
const PATH_RE = new RegExp(`^(?:${PCI_PATH};)*${PCI_PATH}$`);
const VENDOR_DEVICE_RE = /^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$/;
const MAP_KEYS = new Set(["node", "id", "subsystem-id", "path", "iommugroup", "description"]);
const NOT_IN_SCHEMA =
  "property is not defined in schema and the schema does not allow additional properties";
const MISSING = "property is missing and it is not optional";
const DEVICE_ID_RE = /^(?:(?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-9a-fA-F])$/;

function bad(errors: Record<string, string>): Answer {
  return { ok: false, error: { status: 400, message: "Parameter verification failed.", errors } };
}

function fail(message: string): Answer {
  return { ok: false, error: { status: 500, message } };
}

/** The `map` parameter as a list (repeated form keys or a JSON array). */
function mapParam(c: Ctx): string[] | undefined {
  const raw = c.raw?.map;
  if (Array.isArray(raw)) return raw.map(String);
  if (typeof raw === "string") return [raw];
  return c.params.map !== undefined ? [c.params.map] : undefined;
}

/** Why one map entry does not fit PVE's format, or undefined. */
function checkMapEntry(v: string): string | undefined {
  const e = parseMapEntry(v);
  if (typeof e === "string") return `invalid format - ${e}\n`;
  const errs: string[] = [];
  for (const [k, val] of Object.entries(e)) {
    if (!MAP_KEYS.has(k)) errs.push(`map.${k}: ${NOT_IN_SCHEMA}`);
    else if (k === "node" && !NODE_RE.test(val)) {
      errs.push(`map.node: invalid format - value does not look like a valid node name`);
    } else if ((k === "id" || k === "subsystem-id") && !VENDOR_DEVICE_RE.test(val)) {
      errs.push(`map.${k}: value does not match the regex pattern`);
    } else if (k === "path" && !PATH_RE.test(val)) {
      errs.push(`map.path: value does not match the regex pattern`);
    } else if (k === "iommugroup" && !/^[+-]?\d+$/.test(val)) {
      errs.push(`map.iommugroup: type check ('integer') failed - got '${val}'`);
    } else if (k === "description" && val.length > 4096) {
      errs.push(`map.description: value may only be 4096 characters long`);
    }
  }
  for (const k of ["node", "id", "path"]) if (!(k in e)) errs.push(`map.${k}: ${MISSING}`);
  return errs.length ? `invalid format - format error\n${errs.join("\n")}\n` : undefined;
}

/** Validates create/update parameters; the 400 answer or the values to store. */
function checkMappingParams(
  c: Ctx,
  mode: "create" | "update",
): Answer | { description?: string; mdev?: boolean; map?: string[]; delete: string[] } {
  const allowed = mode === "create"
    ? ["id", "description", "mdev", "map"]
    : ["id", "description", "mdev", "map", "digest", "delete"];
  const errors: Record<string, string> = {};
  for (const k of Object.keys(c.params)) if (!allowed.includes(k)) errors[k] = NOT_IN_SCHEMA;
  const id = c.params.id ?? c.path.id;
  if (id === undefined) errors.id = MISSING;
  else if (!isConfigId(id)) errors.id = `invalid format - invalid configuration ID '${id}'\n`;
  const mdev = c.params.mdev;
  if (mdev !== undefined && mdev !== "0" && mdev !== "1") {
    errors.mdev = `type check ('boolean') failed - got '${mdev}'`;
  }
  const description = c.params.description;
  if (description !== undefined && description.length > 4096) {
    errors.description = "value may only be 4096 characters long";
  }
  const map = mapParam(c);
  if (map === undefined && mode === "create") errors.map = MISSING;
  for (const e of map ?? []) {
    const why = checkMapEntry(e);
    if (why) {
      errors.map = why;
      break;
    }
  }
  const del = (c.params.delete ?? "").split(/[,;\s]+/).filter((x) => x);
  for (const d of del) {
    if (d !== "description" && d !== "mdev") errors.delete = `invalid option '${d}'`;
  }
  if (Object.keys(errors).length) return bad(errors);
  const out: { description?: string; mdev?: boolean; map?: string[]; delete: string[] } = {
    delete: del,
  };
  if (description !== undefined) out.description = description;
  if (mdev !== undefined) out.mdev = mdev === "1";
  if (map !== undefined) out.map = map;
  return out;
}

/** A mapping as GET shows it. */
function view(m: PciMapping, digest: string): Record<string, unknown> {
  const out: Record<string, unknown> = { type: "pci", map: [...m.map], digest };
  if (m.description !== undefined) out.description = m.description;
  if (m.mdev !== undefined) out.mdev = m.mdev ? 1 : 0;
  return out;
}

const SYS_AUDIT = [{ paths: ["/"], privs: ["Sys.Audit", "Sys.Modify"] }];

/** PCI mapping and host PCI device endpoints. */
export const PCI_ROUTES: Route[] = [
  {
    method: "GET",
    path: "/cluster/mapping/pci",
    run: (c) => {
      const digest = mappingDigest(c.model.st);
      const node = c.params["check-node"];
      const data = [...pciState(c.model.st).mappings]
        .filter(([id]) => SEE_MAPPING.some((p) => hasPriv(c.id, [`/mapping/pci/${id}`], p)))
        .map(([id, m]) => {
          const e: Record<string, unknown> = { id, ...view(m, digest) };
          if (node !== undefined) {
            const entries = nodeEntries(c.model.st, id, node) ?? [];
            e.checks = entries.length
              ? []
              : [{ severity: "warning", message: `No mapping for node ${node}.` }];
          }
          return e;
        });
      return { ok: true, data };
    },
  },
  {
    method: "POST",
    path: "/cluster/mapping/pci",
    needs: () => [{ paths: ["/mapping/pci"], privs: ["Mapping.Modify"] }],
    run: (c) => {
      const p = checkMappingParams(c, "create");
      if ("ok" in p) return p;
      const id = c.params.id!;
      const all = pciState(c.model.st).mappings;
      if (all.has(id)) {
        return fail(`create hardware mapping failed: pci ID '${id}' already defined`);
      }
      const m: PciMapping = { map: p.map! };
      if (p.description !== undefined) m.description = p.description;
      if (p.mdev !== undefined) m.mdev = p.mdev;
      all.set(id, m);
      return { ok: true, data: null };
    },
  },
  {
    method: "GET",
    path: "/cluster/mapping/pci/{id}",
    needs: (c) => [{ paths: [`/mapping/pci/${c.path.id}`], privs: SEE_MAPPING }],
    run: (c) => {
      const m = pciState(c.model.st).mappings.get(c.path.id!);
      if (!m) return fail(`mapping '${c.path.id}' not found`);
      return { ok: true, data: view(m, mappingDigest(c.model.st)) };
    },
  },
  {
    method: "PUT",
    path: "/cluster/mapping/pci/{id}",
    needs: (c) => [{ paths: [`/mapping/pci/${c.path.id}`], privs: ["Mapping.Modify"] }],
    run: (c) => {
      const p = checkMappingParams(c, "update");
      if ("ok" in p) return p;
      const id = c.path.id!;
      const st = c.model.st;
      const why = "update hardware mapping failed";
      if (c.params.digest !== undefined && c.params.digest !== mappingDigest(st)) {
        return fail(
          `${why}: detected modified configuration - file changed by other user? Try again.`,
        );
      }
      const m = pciState(st).mappings.get(id);
      if (!m) return fail(`${why}: pci ID '${id}' does not exist`);
      for (const d of p.delete) delete m[d as "description" | "mdev"];
      if (p.description !== undefined) m.description = p.description;
      if (p.mdev !== undefined) m.mdev = p.mdev;
      if (p.map !== undefined) m.map = p.map;
      return { ok: true, data: null };
    },
  },
  {
    method: "DELETE",
    path: "/cluster/mapping/pci/{id}",
    needs: () => [{ paths: ["/mapping/pci"], privs: ["Mapping.Modify"] }],
    run: (c) => {
      pciState(c.model.st).mappings.delete(c.path.id!);
      return { ok: true, data: null };
    },
  },
  {
    method: "GET",
    path: "/nodes/{node}/hardware/pci",
    needs: () => SYS_AUDIT,
    run: (c) => {
      const blacklist = (c.params["pci-class-blacklist"] ?? "05;06;0b")
        .split(/[,;\s]+/).filter((x) => x);
      const verbose = c.params.verbose !== "0";
      const data = hostDevices(c.model.st, c.path.node!)
        .filter((d) => !blacklist.some((b) => (d.class ?? "0x030000").startsWith(`0x${b}`)))
        .map((d) => {
          const e: Record<string, unknown> = {
            id: d.id,
            class: d.class ?? "0x030000",
            vendor: d.vendor,
            device: d.device,
            iommugroup: d.iommugroup ?? -1,
          };
          if (d.subsystem_vendor) e.subsystem_vendor = d.subsystem_vendor;
          if (d.subsystem_device) e.subsystem_device = d.subsystem_device;
          if (d.mdevTypes?.length) e.mdev = 1;
          if (verbose) {
            if (d.vendor_name) e.vendor_name = d.vendor_name;
            if (d.device_name) e.device_name = d.device_name;
            if (d.subsystem_vendor && d.vendor_name && d.subsystem_vendor === d.vendor) {
              e.subsystem_vendor_name = d.vendor_name;
            }
          }
          return e;
        });
      return { ok: true, data };
    },
  },
  {
    method: "GET",
    path: "/nodes/{node}/hardware/pci/{pciid}/mdev",
    needs: () => SYS_AUDIT,
    run: (c) => {
      const arg = c.path.pciid!;
      const st = c.model.st;
      const node = c.path.node!;
      if (DEVICE_ID_RE.test(arg)) {
        return { ok: true, data: mdevTypesNow(st, node, normalizePciId(arg.toLowerCase())) };
      }
      if (!/^[a-zA-Z][a-zA-Z0-9_-]+$/.test(arg)) {
        return bad({ "pci-id-or-mapping": "value does not match the regex pattern" });
      }
      const types = new Map<string, ReturnType<typeof mdevTypesNow>[number]>();
      for (const e of nodeEntries(st, arg, node) ?? []) {
        if (!e.path || e.path.includes(";")) continue;
        for (const t of mdevTypesNow(st, node, e.path)) {
          if (!types.has(t.type)) types.set(t.type, t);
        }
      }
      return {
        ok: true,
        data: [...types.values()].sort((a, b) => a.type.localeCompare(b.type)),
      };
    },
  },
];

/**
 * ComputerSystem resources: finding a System (by Id or UUID) through the service root's
 * Systems collection, reading what proxscale needs of it (power state, processors, memory,
 * UUID, boot override, the Reset action and its allowed types), `ComputerSystem.Reset`, and a
 * one-time boot source override (PATCH with If-Match).
 *
 * May import: core/, adapters/.
 */
import { err, ok, type Result } from "../../core/result.ts";
import { isObject, odataId, type RedfishClient } from "./client.ts";
import { localError, type RedfishError } from "./errors.ts";

/** Redfish PowerState values. */
export type PowerState = "On" | "Off" | "PoweringOn" | "PoweringOff" | "Paused" | "Unknown";

/** The ResetType values proxscale sends. */
export type ResetType = "On" | "GracefulShutdown" | "ForceOff" | "ForceRestart";

/** What proxscale reads of one ComputerSystem. */
export type SystemInfo = {
  /** Its `@odata.id`. */
  path: string;
  id: string;
  /** Lower-case UUID ("" when the BMC gives none). */
  uuid: string;
  powerState: PowerState;
  /** Logical processors (threads), else cores, else sockets' count as given. */
  cpus: number;
  memoryGiB: number;
  boot: { enabled: string; target: string; allowedTargets: string[] };
  /** The Reset action's target and allowed types (empty: not advertised). */
  reset: { target: string; allowed: string[] };
  /** `@odata.id`s of the Managers (BMCs) that manage it. */
  managers: string[];
  etag?: string;
};

/** `@odata.id`s of the service's Systems. */
export async function listSystems(c: RedfishClient): Promise<Result<string[], RedfishError>> {
  const root = await c.serviceRoot();
  if (!root.ok) return root;
  const col = odataId(root.value.Systems);
  if (!col) return err(localError("notFound", "GET /redfish/v1/", "the service has no Systems"));
  return await c.members(col);
}

/** The System whose Id or UUID (case-insensitive) is `idOrUuid`. */
export async function findSystem(
  c: RedfishClient,
  idOrUuid: string,
): Promise<Result<SystemInfo, RedfishError>> {
  const paths = await listSystems(c);
  if (!paths.ok) return paths;
  const want = idOrUuid.toLowerCase();
  for (const p of paths.value) {
    if (p.replace(/\/$/, "").split("/").pop()?.toLowerCase() === want) {
      return await readSystem(c, p);
    }
  }
  for (const p of paths.value) {
    const s = await readSystem(c, p);
    if (!s.ok) return s;
    if (s.value.id.toLowerCase() === want || s.value.uuid === want) return s;
  }
  return err(localError("notFound", "GET Systems", `no System with Id or UUID ${idOrUuid}`, 404));
}

/** Reads and parses one System. */
export async function readSystem(
  c: RedfishClient,
  path: string,
): Promise<Result<SystemInfo, RedfishError>> {
  const r = await c.get(path);
  if (!r.ok) return r;
  return ok(parseSystem(path, r.value.body, r.value.etag));
}

/** Parses a ComputerSystem body (exported for unit tests). */
export function parseSystem(path: string, b: Record<string, unknown>, etag?: string): SystemInfo {
  const proc = isObject(b.ProcessorSummary) ? b.ProcessorSummary : {};
  const mem = isObject(b.MemorySummary) ? b.MemorySummary : {};
  const boot = isObject(b.Boot) ? b.Boot : {};
  const actions = isObject(b.Actions) ? b.Actions : {};
  const reset = isObject(actions["#ComputerSystem.Reset"]) ? actions["#ComputerSystem.Reset"] : {};
  const links = isObject(b.Links) ? b.Links : {};
  const managedBy = Array.isArray(links.ManagedBy) ? links.ManagedBy : [];
  const cpus = num(proc.LogicalProcessorCount) ?? num(proc.CoreCount) ?? num(proc.Count) ?? 0;
  return {
    path,
    id: typeof b.Id === "string" ? b.Id : path.split("/").filter(Boolean).pop() ?? path,
    uuid: typeof b.UUID === "string" ? b.UUID.toLowerCase() : "",
    powerState: powerState(b.PowerState),
    cpus,
    memoryGiB: num(mem.TotalSystemMemoryGiB) ?? 0,
    boot: {
      enabled: typeof boot.BootSourceOverrideEnabled === "string"
        ? boot.BootSourceOverrideEnabled
        : "Disabled",
      target: typeof boot.BootSourceOverrideTarget === "string"
        ? boot.BootSourceOverrideTarget
        : "None",
      allowedTargets: strings(boot["BootSourceOverrideTarget@Redfish.AllowableValues"]),
    },
    reset: {
      target: typeof reset.target === "string"
        ? reset.target
        : `${path.replace(/\/$/, "")}/Actions/ComputerSystem.Reset`,
      allowed: strings(reset["ResetType@Redfish.AllowableValues"]),
    },
    managers: managedBy.map(odataId).filter((x): x is string => !!x),
    ...(etag ? { etag } : {}),
  };
}

/**
 * Sends `ComputerSystem.Reset` with `type`. A type the BMC does not advertise is refused
 * here, without a call, when the System lists its allowed types.
 */
export async function resetSystem(
  c: RedfishClient,
  system: SystemInfo,
  type: ResetType,
): Promise<Result<void, RedfishError>> {
  if (system.reset.allowed.length && !system.reset.allowed.includes(type)) {
    return err(
      localError(
        "badRequest",
        `POST ${system.reset.target}`,
        `ResetType ${type} not among ${system.reset.allowed.join(", ")}`,
      ),
    );
  }
  const r = await c.action(system.reset.target, { ResetType: type });
  return r.ok ? ok(undefined) : r;
}

/** Sets a boot source override for the next boot only (`Once`), e.g. `Cd`. */
export async function setBootOnce(
  c: RedfishClient,
  system: SystemInfo,
  target: string,
): Promise<Result<void, RedfishError>> {
  if (system.boot.allowedTargets.length && !system.boot.allowedTargets.includes(target)) {
    return err(
      localError(
        "badRequest",
        `PATCH ${system.path}`,
        `boot target ${target} not among ${system.boot.allowedTargets.join(", ")}`,
      ),
    );
  }
  return await c.patch(system.path, {
    Boot: { BootSourceOverrideEnabled: "Once", BootSourceOverrideTarget: target },
  }, system.etag);
}

function powerState(x: unknown): PowerState {
  return x === "On" || x === "Off" || x === "PoweringOn" || x === "PoweringOff" || x === "Paused"
    ? x
    : "Unknown";
}

function num(x: unknown): number | undefined {
  return typeof x === "number" && Number.isFinite(x) ? x : undefined;
}

function strings(x: unknown): string[] {
  return Array.isArray(x) ? x.filter((s): s is string => typeof s === "string") : [];
}

/**
 * The JSON bodies the fake BMC serves, shaped after the DMTF Redfish schemas
 * (ServiceRoot, ComputerSystem, Manager, VirtualMedia, SessionService, Task, ManagerAccount,
 * Role) and the standard error body with `@Message.ExtendedInfo`.
 *
 * May import: fakes/.
 */
import { BOOT_TARGETS, type FakeSystem } from "./model.ts";
import type { FakeUser, Role } from "./sessions.ts";

const V1 = "/redfish/v1";
type Json = Record<string, unknown>;

/** The Manager Id of a System's BMC. */
export function managerOf(systemId: string): string {
  return `BMC-${systemId}`;
}

/** The service root; Links.Sessions only when sessions are offered. */
export function serviceRoot(sessions: boolean): Json {
  return {
    "@odata.id": `${V1}/`,
    "@odata.type": "#ServiceRoot.v1_15_0.ServiceRoot",
    Id: "RootService",
    Name: "Fake Redfish Service",
    RedfishVersion: "1.17.0",
    UUID: "8a3c1e2d-5b6f-4a70-9e81-0123456789ab",
    Systems: { "@odata.id": `${V1}/Systems` },
    Managers: { "@odata.id": `${V1}/Managers` },
    TaskService: { "@odata.id": `${V1}/TaskService` },
    AccountService: { "@odata.id": `${V1}/AccountService` },
    ...(sessions
      ? {
        SessionService: { "@odata.id": `${V1}/SessionService` },
        Links: { Sessions: { "@odata.id": `${V1}/SessionService/Sessions` } },
      }
      : { Links: {} }),
  };
}

/** A collection of `ids` under `path`. */
export function collection(path: string, type: string, ids: string[]): Json {
  return {
    "@odata.id": path,
    "@odata.type": `#${type}Collection.${type}Collection`,
    Name: `${type} Collection`,
    "Members@odata.count": ids.length,
    Members: ids.map((id) => ({ "@odata.id": `${path}/${id}` })),
  };
}

/** A ComputerSystem. */
export function system(s: FakeSystem): Json {
  const path = `${V1}/Systems/${s.id}`;
  return {
    "@odata.id": path,
    "@odata.type": "#ComputerSystem.v1_20_0.ComputerSystem",
    "@odata.etag": etagOf(s),
    Id: s.id,
    Name: `Fake server ${s.id}`,
    SystemType: "Physical",
    Manufacturer: "Fake",
    Model: "FakeServer 1U",
    UUID: s.uuid,
    PowerState: s.powerState,
    Status: { State: "Enabled", Health: "OK" },
    ProcessorSummary: { Count: 1, CoreCount: s.cpus, LogicalProcessorCount: s.cpus },
    MemorySummary: { TotalSystemMemoryGiB: s.memoryGiB },
    Boot: {
      BootSourceOverrideEnabled: s.boot.enabled,
      BootSourceOverrideTarget: s.boot.target,
      "BootSourceOverrideTarget@Redfish.AllowableValues": BOOT_TARGETS,
      BootSourceOverrideMode: "UEFI",
    },
    Actions: {
      "#ComputerSystem.Reset": {
        target: `${path}/Actions/ComputerSystem.Reset`,
        "ResetType@Redfish.AllowableValues": [
          "On",
          "ForceOff",
          "GracefulShutdown",
          "ForceRestart",
          "GracefulRestart",
        ],
      },
    },
    Links: { ManagedBy: [{ "@odata.id": `${V1}/Managers/${managerOf(s.id)}` }] },
  };
}

/** The weak ETag of a System's current version. */
export function etagOf(s: FakeSystem): string {
  return `W/"${s.version}"`;
}

/** A Manager (BMC) managing one System. */
export function manager(systemId: string): Json {
  const id = managerOf(systemId);
  return {
    "@odata.id": `${V1}/Managers/${id}`,
    "@odata.type": "#Manager.v1_17_0.Manager",
    Id: id,
    ManagerType: "BMC",
    VirtualMedia: { "@odata.id": `${V1}/Managers/${id}/VirtualMedia` },
    Links: { ManagerForServers: [{ "@odata.id": `${V1}/Systems/${systemId}` }] },
  };
}

/** The CD slot of a System's Manager. */
export function cdMedia(s: FakeSystem): Json {
  const path = `${V1}/Managers/${managerOf(s.id)}/VirtualMedia/CD1`;
  return {
    "@odata.id": path,
    "@odata.type": "#VirtualMedia.v1_6_0.VirtualMedia",
    Id: "CD1",
    MediaTypes: ["CD", "DVD"],
    ConnectedVia: s.media.inserted ? "URI" : "NotConnected",
    Inserted: s.media.inserted,
    Image: s.media.inserted ? s.media.image : null,
    WriteProtected: true,
    TransferProtocolType: s.media.inserted
      ? (s.media.image.startsWith("https") ? "HTTPS" : "HTTP")
      : null,
    Actions: {
      "#VirtualMedia.InsertMedia": { target: `${path}/Actions/VirtualMedia.InsertMedia` },
      "#VirtualMedia.EjectMedia": { target: `${path}/Actions/VirtualMedia.EjectMedia` },
    },
  };
}

/** A Task resource. */
export function task(id: string, state: string, messages: string[]): Json {
  return {
    "@odata.id": `${V1}/TaskService/Tasks/${id}`,
    "@odata.type": "#Task.v1_7_0.Task",
    Id: id,
    TaskState: state,
    TaskStatus: state === "Exception" ? "Critical" : "OK",
    Messages: messages.map((m) => ({ MessageId: "Base.1.8.GeneralError", Message: m })),
  };
}

/** A ManagerAccount. */
export function account(i: number, u: FakeUser): Json {
  return {
    "@odata.id": `${V1}/AccountService/Accounts/${i}`,
    "@odata.type": "#ManagerAccount.v1_10_0.ManagerAccount",
    Id: String(i),
    UserName: u.username,
    RoleId: u.role,
    Enabled: true,
    Links: { Role: { "@odata.id": `${V1}/AccountService/Roles/${u.role}` } },
  };
}

/** The Redfish privileges each predefined role carries. */
export const ROLE_PRIVILEGES: Record<Role, string[]> = {
  Administrator: [
    "Login",
    "ConfigureManager",
    "ConfigureUsers",
    "ConfigureSelf",
    "ConfigureComponents",
  ],
  Operator: ["Login", "ConfigureSelf", "ConfigureComponents"],
  ReadOnly: ["Login", "ConfigureSelf"],
};

/** A Role. */
export function role(r: Role): Json {
  return {
    "@odata.id": `${V1}/AccountService/Roles/${r}`,
    "@odata.type": "#Role.v1_3_1.Role",
    Id: r,
    RoleId: r,
    IsPredefined: true,
    AssignedPrivileges: ROLE_PRIVILEGES[r],
  };
}

/** The standard error body. */
export function errorBody(messageId: string, message: string): Json {
  return {
    error: {
      code: messageId,
      message: "A general error has occurred. See ExtendedInfo for more information.",
      "@Message.ExtendedInfo": [{
        "@odata.type": "#Message.v1_1_1.Message",
        MessageId: messageId,
        Message: message,
        Severity: "Critical",
        Resolution: "See the message.",
      }],
    },
  };
}

/**
 * `proxscale diagnose` for Redfish Providers: per machine, the BMC password is readable, the
 * BMC answers its service root over trusted TLS, the credentials log in and find the System,
 * the account's role carries the privilege power and media actions need
 * (ConfigureComponents), and the System's Manager has a CD virtual media slot; plus the seed
 * server's certificate and key are readable.
 */
import type { Provider } from "../core/model.ts";
import { readSecret, type SecretDeps } from "../adapters/proxmox/secret.ts";
import { isObject, odataId, RedfishClient, type TrustMode } from "../adapters/redfish/client.ts";
import { findSystem } from "../adapters/redfish/systems.ts";
import { findCdMedia } from "../adapters/redfish/virtual_media.ts";
import type { Check } from "./diagnose_pve.ts";

/** The privilege Reset, PATCH Boot and InsertMedia need in the Redfish privilege registry. */
export const NEEDED_PRIVILEGE = "ConfigureComponents";

/** The checks of one Redfish Provider. */
export async function redfishChecks(p: Provider, deps: SecretDeps = {}): Promise<Check[]> {
  const out: Check[] = [];
  const rf = p.redfish;
  if (!rf) return out;
  for (const file of [rf.seedServer.certFile, rf.seedServer.keyFile]) {
    try {
      await Deno.readTextFile(file);
    } catch (e) {
      out.push({
        name: `redfish ${p.name}: seed server`,
        ok: false,
        detail: `${file} unreadable (${e instanceof Error ? e.name : e})`,
        fix: "point seedServer.certFile and keyFile at a readable PEM certificate and key",
      });
    }
  }
  for (const m of rf.machines) {
    const name = `redfish ${p.name}/${m.name}`;
    const pw = await readSecret(m.password, deps);
    if (!pw.ok) {
      out.push({
        name: `${name}: password`,
        ok: false,
        detail: pw.error.message,
        fix: "make the BMC password readable",
      });
      continue;
    }
    let trust: TrustMode = m.tls.insecureSkipVerify ? { mode: "insecure" } : { mode: "system" };
    if (m.tls.fingerprint) trust = { mode: "fingerprint", fingerprints: [m.tls.fingerprint] };
    else if (m.tls.caFile) {
      try {
        trust = { mode: "ca", ca: await Deno.readTextFile(m.tls.caFile) };
      } catch {
        out.push({
          name: `${name}: tls`,
          ok: false,
          detail: `${m.tls.caFile} unreadable`,
          fix: "fix tls.caFile",
        });
        continue;
      }
    }
    const password = pw.value;
    const c = new RedfishClient({
      endpoint: m.endpoint,
      username: m.username,
      password: () => password,
      trust,
      timeoutMs: 10_000,
      retry: { attempts: 2, baseMs: 200, maxMs: 500 },
    });
    try {
      out.push(...await machineChecks(name, m.systemId, m.username, c));
    } finally {
      await c.close();
    }
  }
  return out;
}

async function machineChecks(
  name: string,
  systemId: string,
  username: string,
  c: RedfishClient,
): Promise<Check[]> {
  const root = await c.serviceRoot();
  if (!root.ok) {
    return [{
      name: `${name}: reachable`,
      ok: false,
      detail: root.error.message,
      fix: root.error.kind === "tls"
        ? "pin the BMC certificate's fingerprint (tls.fingerprint) or give its CA (tls.caFile)"
        : "check the BMC endpoint and the network path to it",
    }];
  }
  const out: Check[] = [{
    name: `${name}: reachable`,
    ok: true,
    detail: `Redfish ${String(root.value.RedfishVersion ?? "?")} at ${c.endpoint}`,
  }];
  const sys = await findSystem(c, systemId);
  if (!sys.ok) {
    const auth = sys.error.kind === "auth";
    out.push({
      name: `${name}: credentials`,
      ok: false,
      detail: sys.error.message,
      fix: auth ? "check username and the password secret" : `check systemId ${systemId}`,
    });
    return out;
  }
  const s = sys.value;
  out.push({
    name: `${name}: credentials`,
    ok: true,
    detail:
      `logged in (${c.authMode}); System ${s.id} ${s.uuid}: ${s.cpus} CPUs, ${s.memoryGiB} GiB, ${s.powerState}`,
  });
  out.push(await privilegeCheck(name, username, c));
  const cd = await findCdMedia(c, s);
  out.push(
    cd.ok ? { name: `${name}: virtual media`, ok: true, detail: `CD slot ${cd.value.path}` } : {
      name: `${name}: virtual media`,
      ok: false,
      detail: cd.error.message,
      fix: "the BMC needs a CD/DVD virtual media slot (often a license)",
    },
  );
  return out;
}

/** Reads the account's role and its privileges; unknown when the BMC does not show them (also host power's BMCs). */
export async function privilegeCheck(
  name: string,
  username: string,
  c: RedfishClient,
): Promise<Check> {
  const check = `${name}: privileges`;
  const root = await c.serviceRoot();
  const accountsOf = async (): Promise<string | undefined> => {
    if (!root.ok) return undefined;
    const svc = odataId(root.value.AccountService);
    if (!svc) return undefined;
    const as = await c.get(svc);
    const col = as.ok ? odataId(as.value.body.Accounts) : undefined;
    if (!col) return undefined;
    const members = await c.members(col);
    if (!members.ok) return undefined;
    for (const a of members.value) {
      const acc = await c.get(a);
      if (acc.ok && acc.value.body.UserName === username) {
        const links = acc.value.body.Links;
        return (isObject(links) ? odataId(links.Role) : undefined) ??
          (typeof acc.value.body.RoleId === "string"
            ? `${svc}/Roles/${acc.value.body.RoleId}`
            : undefined);
      }
    }
    return undefined;
  };
  const rolePath = await accountsOf();
  if (!rolePath) {
    return {
      name: check,
      ok: true,
      detail: `role of ${username} not visible; it needs ${NEEDED_PRIVILEGE}`,
    };
  }
  const role = await c.get(rolePath);
  const privs = role.ok && Array.isArray(role.value.body.AssignedPrivileges)
    ? role.value.body.AssignedPrivileges.filter((x): x is string => typeof x === "string")
    : undefined;
  if (!privs) {
    return {
      name: check,
      ok: true,
      detail: `role ${rolePath} unreadable; it needs ${NEEDED_PRIVILEGE}`,
    };
  }
  const roleId = rolePath.split("/").pop();
  return privs.includes(NEEDED_PRIVILEGE)
    ? {
      name: check,
      ok: true,
      detail: `role ${roleId} has ${NEEDED_PRIVILEGE} (power, boot override, virtual media)`,
    }
    : {
      name: check,
      ok: false,
      detail: `role ${roleId} of ${username} lacks ${NEEDED_PRIVILEGE} (has ${
        privs.join(", ")
      }): power on/off, boot override and virtual media would be refused`,
      fix: "give the BMC account the Operator or Administrator role",
    };
}

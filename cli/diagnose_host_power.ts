/**
 * `proxscale diagnose` for host power: per Proxmox host with a `bmc`, the BMC username and
 * password are readable, the BMC answers over trusted TLS, the credentials find the System, the
 * System offers the resets host power sends (On, GracefulShutdown) and the account's role has
 * the privilege they need (ConfigureComponents).
 *
 * May import: core/, adapters/, cli/.
 */
import type { Provider } from "../core/model.ts";
import { readSecret, type SecretDeps } from "../adapters/proxmox/secret.ts";
import { RedfishClient, type TrustMode } from "../adapters/redfish/client.ts";
import { findSystem } from "../adapters/redfish/systems.ts";
import type { Check } from "./diagnose_pve.ts";
import { privilegeCheck } from "./diagnose_redfish.ts";

/** The resets host power sends. */
const RESETS = ["On", "GracefulShutdown"];

/** The checks of every host of `p` that has a BMC. */
export async function hostPowerChecks(p: Provider, deps: SecretDeps = {}): Promise<Check[]> {
  const out: Check[] = [];
  for (const h of p.hosts) {
    if (!h.power) continue;
    const b = h.power.bmc;
    const name = `host power ${p.name}/${h.name}`;
    const user = await readSecret(b.username, deps);
    const pw = user.ok ? await readSecret(b.password, deps) : user;
    if (!user.ok || !pw.ok) {
      out.push({
        name: `${name}: credentials readable`,
        ok: false,
        detail: (!user.ok ? user.error : !pw.ok ? pw.error : { message: "" }).message,
        fix: "make bmc.username and bmc.password readable",
      });
      continue;
    }
    let trust: TrustMode = b.tls.insecureSkipVerify ? { mode: "insecure" } : { mode: "system" };
    if (b.tls.fingerprint) trust = { mode: "fingerprint", fingerprints: [b.tls.fingerprint] };
    else if (b.tls.caFile) {
      try {
        trust = { mode: "ca", ca: await (deps.readTextFile ?? Deno.readTextFile)(b.tls.caFile) };
      } catch {
        out.push({
          name: `${name}: tls`,
          ok: false,
          detail: `${b.tls.caFile} unreadable`,
          fix: "fix bmc.tls.caFile",
        });
        continue;
      }
    }
    const password = pw.value;
    const username = user.value.trim();
    const c = new RedfishClient({
      endpoint: b.endpoint,
      username,
      password: () => password,
      trust,
      timeoutMs: 10_000,
      retry: { attempts: 2, baseMs: 200, maxMs: 500 },
    });
    try {
      const root = await c.serviceRoot();
      if (!root.ok) {
        out.push({
          name: `${name}: reachable`,
          ok: false,
          detail: root.error.message,
          fix: root.error.kind === "tls"
            ? "pin the BMC certificate's fingerprint (bmc.tls.fingerprint) or give its CA"
            : "check bmc.endpoint and the network path to the BMC",
        });
        continue;
      }
      out.push({ name: `${name}: reachable`, ok: true, detail: `Redfish at ${c.endpoint}` });
      const s = await findSystem(c, b.systemId);
      if (!s.ok) {
        out.push({
          name: `${name}: credentials`,
          ok: false,
          detail: s.error.message,
          fix: s.error.kind === "auth"
            ? "check bmc.username and bmc.password"
            : `check bmc.systemId ${b.systemId}`,
        });
        continue;
      }
      out.push({
        name: `${name}: credentials`,
        ok: true,
        detail: `System ${s.value.id}: ${s.value.cpus} CPUs, ${s.value.memoryGiB} GiB, ` +
          s.value.powerState,
      });
      const allowed = s.value.reset.allowed;
      const missing = allowed.length ? RESETS.filter((r) => !allowed.includes(r)) : [];
      out.push(
        missing.length
          ? {
            name: `${name}: resets`,
            ok: false,
            detail: `the System does not offer ${missing.join(", ")} (offers ${
              allowed.join(", ")
            })`,
            fix: "host power needs ComputerSystem.Reset On and GracefulShutdown",
          }
          : {
            name: `${name}: resets`,
            ok: true,
            detail: allowed.length ? `offers ${allowed.join(", ")}` : "allowed types not listed",
          },
      );
      out.push(await privilegeCheck(name, username, c));
    } finally {
      await c.close();
    }
  }
  return out;
}

/**
 * Builds the running parts of one Redfish Provider from its configuration: reads each
 * machine's BMC password (file, environment or Kubernetes Secret) and TLS trust, starts the
 * seed HTTPS server on the configured address with its certificate, and makes the
 * RedfishProvider. Closing stops the seed server and logs the BMC sessions out.
 *
 * May import: core/, adapters/, daemon/ports/.
 */
import { err, ok, type Result } from "../../core/result.ts";
import type { Provider, RedfishMachineConfig } from "../../core/model.ts";
import { readSecret, type SecretDeps } from "../proxmox/secret.ts";
import type { TrustMode } from "./client.ts";
import { type RedfishMachine, RedfishProvider } from "./provider.ts";
import { SeedServer } from "./seed_server.ts";

/** A connected Redfish Provider and how to close it. */
export type RedfishConnection = {
  provider: RedfishProvider;
  seeds: SeedServer;
  close(): Promise<void>;
};

/** Extras: where secrets come from, and who learns them (the log redaction guard). */
export type ConnectRedfishDeps = SecretDeps & { onSecret?: (value: string) => void };

/** Connects a Provider of kind redfish; a message naming what could not be read otherwise. */
export async function connectRedfishProvider(
  p: Provider,
  deps: ConnectRedfishDeps,
): Promise<Result<RedfishConnection, string>> {
  const rf = p.redfish;
  if (p.kind !== "redfish" || !rf) return err(`Provider ${p.name} is not of kind redfish`);
  const machines: RedfishMachine[] = [];
  for (const m of rf.machines) {
    const pw = await readSecret(m.password, deps);
    if (!pw.ok) return err(`machine ${m.name}: BMC password: ${pw.error.message}`);
    deps.onSecret?.(pw.value);
    const trust = await trustOf(m);
    if (!trust.ok) return err(`machine ${m.name}: ${trust.error}`);
    const password = pw.value;
    machines.push({
      name: m.name,
      zone: m.zone,
      endpoint: m.endpoint,
      systemId: m.systemId,
      username: m.username,
      password: () => password,
      trust: trust.value,
    });
  }
  let certPem: string, keyPem: string;
  try {
    certPem = await Deno.readTextFile(rf.seedServer.certFile);
    keyPem = await Deno.readTextFile(rf.seedServer.keyFile);
  } catch (e) {
    return err(`seed server certificate or key unreadable: ${e instanceof Error ? e.message : e}`);
  }
  const at = /^\[?(.*?)\]?:(\d+)$/.exec(rf.seedServer.listen);
  if (!at) return err(`seedServer.listen ${rf.seedServer.listen} is not host:port`);
  let seeds: SeedServer;
  try {
    seeds = await SeedServer.start({
      certPem,
      keyPem,
      hostname: at[1]!,
      port: Number(at[2]),
      publicUrl: rf.seedServer.url,
    });
  } catch (e) {
    return err(
      `seed server cannot listen on ${rf.seedServer.listen}: ${e instanceof Error ? e.message : e}`,
    );
  }
  const provider = new RedfishProvider({
    provider: p.name,
    machines,
    seeds,
    seedTtlMs: rf.seedServer.ttlSeconds * 1000,
  });
  return ok({
    provider,
    seeds,
    close: async () => {
      await provider.close();
      await seeds.close();
    },
  });
}

async function trustOf(m: RedfishMachineConfig): Promise<Result<TrustMode, string>> {
  if (m.tls.fingerprint) return ok({ mode: "fingerprint", fingerprints: [m.tls.fingerprint] });
  if (m.tls.caFile) {
    try {
      return ok({ mode: "ca", ca: await Deno.readTextFile(m.tls.caFile) });
    } catch (e) {
      return err(`tls.caFile ${m.tls.caFile} unreadable: ${e instanceof Error ? e.message : e}`);
    }
  }
  return ok(m.tls.insecureSkipVerify ? { mode: "insecure" } : { mode: "system" });
}

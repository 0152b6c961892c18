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

/**
 * Extras: where secrets come from, who learns them (the log redaction guard), and the seed
 * servers shared by one daemon's connections (default: one of its own).
 */
export type ConnectRedfishDeps = SecretDeps & {
  onSecret?: (value: string) => void;
  seedServers?: SeedServers;
};

type SeedSettings = NonNullable<Provider["redfish"]>["seedServer"];

/**
 * The seed HTTPS servers of one daemon, shared by reference count: a hot reload that rebuilds a
 * Redfish Provider's connection keeps the server on its address (a second bind would fail) until
 * the last connection using it is closed.
 */
export class SeedServers {
  readonly #servers = new Map<string, { server: SeedServer; refs: number }>();

  /** The server for these settings, started on first use; `release` when done with it. */
  async acquire(
    s: SeedSettings,
  ): Promise<Result<{ server: SeedServer; release: () => Promise<void> }, string>> {
    const key = JSON.stringify([s.listen, s.url, s.certFile, s.keyFile]);
    let entry = this.#servers.get(key);
    if (!entry) {
      const started = await startSeedServer(s);
      if (!started.ok) return started;
      entry = this.#servers.get(key) ?? { server: started.value, refs: 0 };
      if (entry.server !== started.value) await started.value.close();
      this.#servers.set(key, entry);
    }
    entry.refs++;
    const e = entry;
    let released = false;
    return ok({
      server: e.server,
      release: async () => {
        if (released) return;
        released = true;
        if (--e.refs > 0) return;
        this.#servers.delete(key);
        await e.server.close();
      },
    });
  }
}

async function startSeedServer(s: SeedSettings): Promise<Result<SeedServer, string>> {
  let certPem: string, keyPem: string;
  try {
    certPem = await Deno.readTextFile(s.certFile);
    keyPem = await Deno.readTextFile(s.keyFile);
  } catch (e) {
    return err(`seed server certificate or key unreadable: ${e instanceof Error ? e.message : e}`);
  }
  const at = /^\[?(.*?)\]?:(\d+)$/.exec(s.listen);
  if (!at) return err(`seedServer.listen ${s.listen} is not host:port`);
  try {
    return ok(
      await SeedServer.start({
        certPem,
        keyPem,
        hostname: at[1]!,
        port: Number(at[2]),
        publicUrl: s.url,
      }),
    );
  } catch (e) {
    return err(`seed server cannot listen on ${s.listen}: ${e instanceof Error ? e.message : e}`);
  }
}

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
  const seeds = await (deps.seedServers ?? new SeedServers()).acquire(rf.seedServer);
  if (!seeds.ok) return seeds;
  const provider = new RedfishProvider({
    provider: p.name,
    machines,
    seeds: seeds.value.server,
    seedTtlMs: rf.seedServer.ttlSeconds * 1000,
  });
  return ok({
    provider,
    seeds: seeds.value.server,
    close: async () => {
      await provider.close();
      await seeds.value.release();
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

/**
 * The host install, from the outside: the systemd unit's ExecStart, read from the generated
 * deploy/systemd/proxscale.service, started as systemd would start it (its EnvironmentFile,
 * Environment and LoadCredential lines honoured, the files of docs/operations.md "On a Proxmox
 * host" under a temp root instead of /etc) against the real `proxscale fake-cluster` process,
 * with a kubeconfig holding a token of the shipped ServiceAccount. One process takes the Lease,
 * answers /readyz and scales a Deployment 0 -> 30 -> 0.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import {
  freePort,
  kubectl,
  leaseHolder,
  readyz,
  ROOT,
  spawnProxscale,
  startFakeClusterProcess,
  stopProc,
  tunedConfig,
  withOption,
} from "./testing/e2e_install.ts";
import { scaleZeroToThirtyToZero } from "./testing/e2e_install_scenario.ts";

/** The unit's directives this test honours, in file order. */
function directives(unit: string, key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]!.trim());
}

Deno.test({
  name: "the systemd unit's command line with a config file takes the Lease, is ready and " +
    "scales a Deployment from 0 to 30 pods and back to 0 with no VM left",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const fc = await startFakeClusterProcess(41);
    const host = `${fc.dir}/host`;
    // Paths of the unit map under a temp root: /etc/proxscale -> HOST/etc/proxscale.
    const onHost = (p: string) => p.startsWith("/etc/proxscale/") ? `${host}${p}` : p;
    const credentials = `${host}/run/credentials/proxscale.service`;
    let daemon: ReturnType<typeof spawnProxscale> | undefined;
    try {
      const unit = await Deno.readTextFile(`${ROOT}deploy/systemd/proxscale.service`);
      // The host install's cluster side: CRDs and RBAC, no Deployment, a ServiceAccount token.
      for (
        const args of [
          ["apply", "-f", `${ROOT}deploy/crds/`, "-f", `${ROOT}deploy/proxscale.yaml`],
          ["-n", "proxscale-system", "delete", "deployment", "proxscale"],
        ]
      ) {
        const r = await kubectl(fc.env, args);
        assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
      }
      const token = await kubectl(fc.env, [
        "-n",
        "proxscale-system",
        "create",
        "token",
        "proxscale",
        "--duration",
        "8760h",
      ]);
      assert.equal(token.code, 0, token.stderr);

      // The files the unit reads.
      await Deno.mkdir(`${host}/etc/proxscale`, { recursive: true });
      await Deno.mkdir(credentials, { recursive: true });
      const kubeconfig = stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{
          name: "c",
          cluster: {
            server: `https://${fc.apiHost}:${fc.apiPort}`,
            "certificate-authority-data": btoa(fc.caPem),
          },
        }],
        users: [{ name: "proxscale", user: { token: token.stdout.trim() } }],
        contexts: [{ name: "c", context: { cluster: "c", user: "proxscale" } }],
        "current-context": "c",
      });
      await Deno.writeTextFile(`${host}/etc/proxscale/kubeconfig`, kubeconfig, { mode: 0o600 });
      await Deno.copyFile(`${fc.configFile}.pve-token`, `${host}/etc/proxscale/pve-token`);
      await Deno.copyFile(
        `${ROOT}deploy/systemd/proxscale.env.example`,
        `${host}/etc/proxscale/proxscale.env`,
      );
      // The config reads the PVE token as the unit's credential, as the docs say.
      const config = tunedConfig(await Deno.readTextFile(fc.configFile), (d) => {
        for (const p of d.providers) p.spec.tokenSecret = { file: `${credentials}/pve-token` };
      });
      const exec = directives(unit, "ExecStart")[0];
      assert.ok(exec, "the unit has an ExecStart");
      const [binary, ...argv0] = exec.split(/\s+/);
      assert.equal(binary, "/usr/local/bin/proxscale");
      const configArg = argv0.find((a) => a.startsWith("--config="));
      assert.ok(configArg, "ExecStart passes --config=");
      await Deno.writeTextFile(onHost(configArg.slice("--config=".length)), config);

      // systemd: LoadCredential copies into $CREDENTIALS_DIRECTORY (%d), then the environment.
      for (const c of directives(unit, "LoadCredential")) {
        const [name, path] = c.split(":");
        await Deno.copyFile(onHost(path!), `${credentials}/${name}`);
      }
      const env: Record<string, string> = { CREDENTIALS_DIRECTORY: credentials };
      for (const f of directives(unit, "EnvironmentFile")) {
        for (const line of (await Deno.readTextFile(onHost(f))).split("\n")) {
          const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
          if (m) env[m[1]!] = m[2]!;
        }
      }
      for (const e of directives(unit, "Environment")) {
        const [k, ...v] = e.split("=");
        env[k!] = v.join("=").replaceAll("%d", credentials);
      }
      assert.equal(env.KUBECONFIG, `${credentials}/kubeconfig`);

      const port = freePort();
      const argv = withOption(
        argv0.map((a) => a.startsWith("--config=") ? `--config=${onHost(a.slice(9))}` : a),
        "http-port",
        String(port),
      );
      daemon = spawnProxscale("systemd", argv, env, host);
      const replica = { proc: daemon, port, identity: "the unit's process" };
      await readyz(replica);
      const identity = /"identity":"([^"]+)"/.exec(daemon.output())?.[1];
      assert.ok(identity, daemon.output());
      const holder = await (async () => {
        for (let i = 0; i < 40; i++) {
          const h = await leaseHolder(fc);
          if (h) return h;
          await new Promise((r) => setTimeout(r, 250));
        }
        return "";
      })();
      assert.equal(holder, identity, "the one process holds proxscale-system/proxscale-leader");

      await scaleZeroToThirtyToZero(fc, "systemd unit");

      const status = await stopProc(daemon);
      assert.equal(status.code, 0, daemon.output());
      assert.equal(await leaseHolder(fc), "", "a stopped process releases the Lease");
    } finally {
      if (daemon) await stopProc(daemon);
      await fc.close();
    }
  },
});

/**
 * Secret leak under faults, with the redactor as shipped: the real `proxscale run` process
 * (whose start registers every configured secret with the process-wide redactor, as
 * cli/run.ts does) reads its PVE token from a file, while the fake PVE answers 401 and 5xx whose
 * status line and body echo the request's Authorization header (as a misbehaving proxy or a
 * debugging server would), and the token is then rotated by hot reload (a new file named in the
 * configuration, the old secret revoked) and echoed again. Nothing the process wrote (stdout
 * and stderr: logs, audit lines, errors), none of its HTTP answers, nothing stored in or sent
 * to the fake API server and nothing the fake PVE kept carries either secret in any form.
 */
import assert from "node:assert/strict";
import { GiB } from "../core/quantity.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import { type RunProcess, startRunProcess, until, yamlConfig } from "./testing/run_process.ts";

const OLD_SECRET = "a81c6e02-old-pve-secret-LEAKFAULT-5b7d93f1";
const NEW_SECRET = "0d4f7b9e-new-pve-secret-LEAKFAULT-c2a61e88";

function forms(secret: string): string[] {
  return [secret, encodeURIComponent(secret), btoa(secret), secret.slice(0, 24)];
}

function findLeaks(outputs: Record<string, string>): string[] {
  const leaks: string[] = [];
  for (const [where, text] of Object.entries(outputs)) {
    for (const [name, secret] of [["old", OLD_SECRET], ["new", NEW_SECRET]] as const) {
      for (const f of forms(secret)) {
        const i = text.indexOf(f);
        if (i >= 0) {
          leaks.push(`${name} secret in ${where}: ...${text.slice(Math.max(0, i - 80), i + 20)}`);
        }
      }
    }
  }
  return leaks;
}

/** Faults whose answers echo the request's credentials back. */
function echoFaults(tokenId: string, secret: string) {
  const header = `PVEAPIToken=${tokenId}=${secret}`;
  return {
    errors: [
      { endpoint: "*", status: 401, times: 2, message: `authentication failure (${header})` },
      {
        endpoint: "*",
        status: 502,
        times: 2,
        message: `Bad Gateway: upstream refused Authorization: ${header}`,
      },
      { endpoint: "*", status: 500, times: 2, message: `internal error handling ${header}` },
    ],
  };
}

Deno.test("with the shipped redactor, PVE answers echoing the token and a hot-reloaded rotated token leak nowhere", async () => {
  const cluster = await startDemoCluster({
    seed: 43,
    requireSeed: false,
    pve: { tokenSecret: OLD_SECRET },
    tune: (c) => ({
      ...c,
      machineTemplates: c.machineTemplates.map((t) => ({
        ...t,
        bootstrap: { ...t.bootstrap, mode: "none" as const },
      })),
    }),
  });
  const dir = await Deno.makeTempDir({ prefix: "proxscale-leak-faults-" });
  const tokenId = cluster.pve.tokenId;
  const configFor = (file: string) =>
    yamlConfig(cluster).replace(
      "tokenSecret: { env: PROXSCALE_PVE_TOKEN }",
      `tokenSecret: { file: ${file} }`,
    );
  await Deno.writeTextFile(`${dir}/token-old`, `${OLD_SECRET}\n`);
  let d: RunProcess | undefined;
  const outputs: Record<string, string> = {};
  try {
    d = await startRunProcess(cluster, dir, [], configFor(`${dir}/token-old`));
    const base = `http://127.0.0.1:${d.port}`;
    cluster.world.deploy({ name: "web", replicas: 6, cpu: 500, memory: 1 * GiB });
    await until(() => cluster.world.liveVms().length >= 1, 30_000, "a VM for the burst");

    // Echoing faults while there is work to do (a second burst needs PVE calls).
    cluster.pve.faults.update(echoFaults(tokenId, OLD_SECRET));
    cluster.world.deploy({ name: "api", replicas: 6, cpu: 1000, memory: 2 * GiB });
    await until(
      () => /authentication failure|Bad Gateway|internal error/.test(d!.stdout()),
      // Generous: on a loaded CI machine the daemon's next PVE call can take a while.
      60_000,
      "the echoed errors to reach the log",
    );
    cluster.pve.faults.update({ errors: [] });

    // Rotation: the new secret in a new file, the configuration names it, the old one revoked.
    await Deno.writeTextFile(`${dir}/token-new`, `${NEW_SECRET}\n`);
    cluster.pve.auth.addToken({ ...cluster.pve.auth.tokens.get(tokenId)!, secret: NEW_SECRET });
    await Deno.writeTextFile(`${dir}/config.yaml`, configFor(`${dir}/token-new`));
    await until(() => /configuration reloaded/.test(d!.stdout()), 15_000, "the reload");
    cluster.pve.faults.update(echoFaults(tokenId, NEW_SECRET));
    cluster.world.deploy({ name: "batch", replicas: 4, cpu: 1000, memory: 1 * GiB });
    const before = d.stdout().length;
    await until(
      () => /authentication failure|Bad Gateway|internal error/.test(d!.stdout().slice(before)),
      60_000,
      "echoed errors after the rotation",
    );
    cluster.pve.faults.update({ errors: [] });
    // The new token works: a VM is created after the reload.
    const afterReload = d.stdout().indexOf("configuration reloaded");
    await until(
      () => d!.stdout().slice(afterReload).includes("VmCreate"),
      60_000,
      "a VM created with the new token",
    );

    for (const p of ["/metrics", "/status", "/healthz", "/readyz"]) {
      outputs[`http ${p}`] = await (await fetch(base + p)).text();
    }
  } finally {
    await d?.stop();
    outputs["stdout"] = d?.stdout() ?? "";
    outputs["stderr"] = d?.stderr() ?? "";
    await cluster.close().catch(() => {});
    for (const def of cluster.kube.store.resources()) {
      const ref = def.group ? `${def.plural}.${def.group}` : def.plural;
      if (ref === "secrets") continue;
      const l = cluster.kube.store.list(ref);
      if (l.ok) outputs[`kube ${ref}`] = JSON.stringify(l.value.items);
    }
    outputs["kube requests"] = JSON.stringify(cluster.kube.requests);
    outputs["pve state"] = JSON.stringify({
      vms: cluster.pve.model.st.vms,
      tasks: [...cluster.pve.model.st.tasks.values()],
    });
    await Deno.remove(dir, { recursive: true });
  }
  // The scenario reached what it should: echoed errors logged (scrubbed), the reload applied
  // and the new token used.
  assert.match(outputs["stdout"]!, /<redacted>/, "an echoed secret was scrubbed");
  assert.match(outputs["stdout"]!, /configuration reloaded/);
  assert.ok(outputs["stdout"]!.includes("VmCreate"), "VMs created");
  // The search finds a planted secret in any of its forms.
  for (const planted of [...forms(OLD_SECRET), ...forms(NEW_SECRET)]) {
    assert.ok(findLeaks({ planted: `x ${planted} y` }).length >= 1, planted);
  }
  assert.deepEqual(findLeaks(outputs), [], `searched: ${Object.keys(outputs).join(", ")}`);
});

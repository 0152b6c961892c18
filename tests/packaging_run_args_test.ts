/**
 * Every way proxscale is started passes options `proxscale run` accepts: the Deployment's
 * container args in deploy/proxscale.yaml, the Helm chart rendered with its default values, the
 * output of `proxscale manifests`, and the systemd unit's ExecStart all go through run's own
 * option parser, and mean the same Lease and port. An unknown option is a usage error naming it.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import {
  hostRunArgs,
  parseRunArgs,
  podRunArgs,
  type RunSettings,
} from "../adapters/deploy/run_options.ts";
import { defaultChartValues, renderChartObjects } from "../adapters/deploy/helm_render.ts";
import type { KubeObject } from "../adapters/deploy/manifests.ts";

const root = new URL("../", import.meta.url);
const read = (p: string) => Deno.readTextFile(new URL(p, root));

type Container = { args: string[]; env?: { name: string }[] };

function container(objects: KubeObject[]): Container {
  const d = objects.find((o) => o.kind === "Deployment") as
    | { spec: { template: { spec: { containers: Container[] } } } }
    | undefined;
  assert.ok(d, "a Deployment");
  return d.spec.template.spec.containers[0]!;
}

/** What the kubelet does to `$(VAR)` in args before the process sees them. */
function expand(args: string[], env: Record<string, string>): string[] {
  return args.map((a) => a.replace(/\$\(([A-Z_]+)\)/g, (_m, v: string) => env[v] ?? `$(${v})`));
}

function accepted(argv: string[], env: Record<string, string> = {}): RunSettings {
  assert.equal(argv[0], "run");
  const r = parseRunArgs(argv.slice(1), (n) => env[n]);
  assert.ok(r.ok, `run rejects ${argv.join(" ")}: ${r.ok ? "" : r.error}`);
  assert.notEqual(r.value, "help");
  return r.value as RunSettings;
}

async function manifestsOutput(): Promise<KubeObject[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("main.ts", root).pathname, "manifests"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return parseAllDocuments(new TextDecoder().decode(out.stdout)).map((d) => d.toJS());
}

Deno.test("the Deployment, the chart and proxscale manifests start run with options it accepts", async () => {
  const committed = parseAllDocuments(await read("deploy/proxscale.yaml")).map((d) => d.toJS());
  const sources: Record<string, KubeObject[]> = {
    "deploy/proxscale.yaml": committed,
    "helm chart (default values)": renderChartObjects(defaultChartValues(), "proxscale-system"),
    "proxscale manifests": await manifestsOutput(),
  };
  for (const [name, objects] of Object.entries(sources)) {
    const c = container(objects);
    // POD_NAMESPACE comes from the downward API, as the container's env declares.
    assert.ok(c.env?.some((e) => e.name === "POD_NAMESPACE"), name);
    const s = accepted(expand(c.args, { POD_NAMESPACE: "proxscale-system" }), {
      POD_NAMESPACE: "proxscale-system",
    });
    assert.deepEqual(s.source, { kind: "crds" }, name);
    assert.deepEqual(s.lease, { name: "proxscale-leader", namespace: "proxscale-system" }, name);
    assert.equal(s.namespace, "proxscale-system", name);
    assert.equal(s.httpPort, 8080, name);
  }
});

Deno.test("the systemd unit's ExecStart is accepted by run and holds the same Lease", async () => {
  const unit = await read("deploy/systemd/proxscale.service");
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1];
  assert.ok(exec);
  const [binary, ...argv] = exec.split(/\s+/);
  assert.equal(binary, "/usr/local/bin/proxscale");
  const s = accepted(argv);
  assert.deepEqual(s.source, { kind: "file", path: "/etc/proxscale/config.yaml" });
  assert.deepEqual(s.lease, { name: "proxscale-leader", namespace: "proxscale-system" });
  assert.equal(s.httpPort, 8080);
});

Deno.test("outside a pod the Lease is proxscale-leader in proxscale-system, as the RBAC Role says", () => {
  const s = accepted(["run", "--config", "c.yaml"]);
  assert.deepEqual(s.lease, { name: "proxscale-leader", namespace: "proxscale-system" });
  const off = accepted(["run", "--config", "c.yaml", "--no-leader-elect"]);
  assert.equal(off.lease, undefined);
  const moved = accepted(["run", "--crds", "--namespace=ops", "--lease-namespace=locks"]);
  assert.deepEqual(moved.lease, { name: "proxscale-leader", namespace: "locks" });
  assert.equal(moved.namespace, "ops");
});

Deno.test("an unknown option makes proxscale run exit 2 naming it and listing the valid ones", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("main.ts", root).pathname, "run", "--crds", "--metrics-port=8080"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 2, stderr);
  assert.match(stderr, /unknown option "--metrics-port"/);
  assert.match(stderr, /valid options: .*--http-port/);
  assert.doesNotMatch(stderr, /internal error/);
});

Deno.test("bad values of run's options are usage errors, not crashes", () => {
  for (
    const [argv, message] of [
      [["--crds", "--http-port=http"], /--http-port "http"/],
      [["--crds", "--config", "x"], /exactly one of --config and --crds/],
      [["--crds", "--redis-url", "http://x"], /redis:\/\//],
      [["--crds", "--redis-password-file", "p"], /needs --redis-url/],
      [["--crds", "--leader-elect", "--no-leader-elect"], /contradict/],
      [["--crds", "stray"], /unexpected argument "stray"/],
      [["--crds", "--pause=yes"], /"--pause" takes no value/],
      [["--crds", "--http-address=pve1.lan"], /--http-address "pve1.lan" must be an IPv4/],
      [["--crds", "--http-address=300.1.1.1"], /--http-address "300.1.1.1"/],
      [["--crds", "--http-token-file="], /--http-token-file needs a file name/],
    ] as const
  ) {
    const r = parseRunArgs([...argv]);
    assert.ok(!r.ok, argv.join(" "));
    assert.match(r.error, message);
  }
});

Deno.test("the HTTP server binds loopback unless --http-address says; the Deployment binds every address", () => {
  const plain = parseRunArgs(["--crds"]);
  assert.ok(plain.ok && plain.value !== "help");
  assert.equal(plain.value.httpAddress, "127.0.0.1");
  assert.equal(plain.value.httpTokenFile, undefined);
  const wide = parseRunArgs(["--crds", "--http-address=0.0.0.0", "--http-token-file=/t"]);
  assert.ok(wide.ok && wide.value !== "help");
  assert.equal(wide.value.httpAddress, "0.0.0.0");
  assert.equal(wide.value.httpTokenFile, "/t");
  const v6 = parseRunArgs(["--crds", "--http-address=::1"]);
  assert.ok(v6.ok && v6.value !== "help" && v6.value.httpAddress === "::1");
  assert.ok(podRunArgs(8080).includes("--http-address=0.0.0.0"));
  assert.ok(!hostRunArgs().some((a) => a.startsWith("--http-address")), "systemd: loopback");
});

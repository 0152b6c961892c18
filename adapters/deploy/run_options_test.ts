/**
 * Tests of run_options.ts: `proxscale run`'s arguments parsed into settings or refused with a
 * message naming the option, and the command lines the artifacts start it with parse back into
 * what they mean.
 *
 * May import: this folder, core/, adapters/.
 */
import assert from "node:assert/strict";
import {
  DEFAULT_HTTP_ADDRESS,
  HOST_CONFIG_FILE,
  hostRunArgs,
  isIpLiteral,
  LEASE_NAME,
  parseRunArgs,
  podRunArgs,
  RUN_OPTIONS,
  runOptionsHelp,
  type RunSettings,
  runUsage,
} from "./run_options.ts";

/** Settings of arguments that must parse. */
function settings(args: string[], env: Record<string, string> = {}): RunSettings {
  const r = parseRunArgs(args, (k) => env[k]);
  assert.ok(r.ok, r.ok ? "" : r.error);
  assert.notEqual(r.value, "help");
  return r.value as RunSettings;
}

/** The message of arguments that must be refused. */
function refusal(args: string[]): string {
  const r = parseRunArgs(args);
  assert.ok(!r.ok, `${args.join(" ")} should be refused`);
  return r.error;
}

Deno.test("a config file alone gets the defaults: leader election, loopback on 8080, default namespace", () => {
  assert.deepEqual(settings(["--config", "c.yaml"]), {
    source: { kind: "file", path: "c.yaml" },
    namespace: "proxscale-system",
    lease: { name: LEASE_NAME, namespace: "proxscale-system" },
    httpPort: 8080,
    httpAddress: DEFAULT_HTTP_ADDRESS,
    pause: false,
  });
});

Deno.test("the namespace comes from --namespace, else POD_NAMESPACE; the Lease follows it", () => {
  assert.equal(settings(["--crds"], { POD_NAMESPACE: "ops" }).lease?.namespace, "ops");
  const s = settings(["--crds", "--namespace=infra", "--lease-namespace", "locks"], {
    POD_NAMESPACE: "ops",
  });
  assert.equal(s.namespace, "infra");
  assert.deepEqual(s.lease, { name: LEASE_NAME, namespace: "locks" });
  assert.equal(settings(["--crds", "--no-leader-elect"]).lease, undefined);
});

Deno.test("redis, token file, kubeconfig and pause are carried through", () => {
  const s = settings([
    "--crds",
    "--kubeconfig=k",
    "--redis-url=rediss://r:6380",
    "--redis-password-file=/p",
    "--http-token-file=/t",
    "--http-address=::1",
    "--http-port=0",
    "--pause",
  ]);
  assert.deepEqual(
    [s.kubeconfig, s.redis, s.httpTokenFile, s.httpAddress, s.httpPort, s.pause],
    ["k", { url: "rediss://r:6380", passwordFile: "/p" }, "/t", "::1", 0, true],
  );
});

Deno.test("each bad argument is refused with a message naming it", () => {
  const cases: [string[], RegExp][] = [
    [[], /exactly one of --config and --crds/],
    [["--crds", "--config=c"], /exactly one of/],
    [["--crds", "--leader-elect", "--no-leader-elect"], /contradict/],
    [["--crds", "--namespace=Bad_NS"], /--namespace "Bad_NS" is not a DNS label/],
    [["--crds", "--lease-name=-x"], /--lease-name "-x" is not a DNS name/],
    [["--crds", "--http-port=65536"], /--http-port "65536" must be a port number/],
    [["--crds", "--http-port=80a"], /--http-port "80a"/],
    [["--crds", "--http-address=localhost"], /--http-address "localhost" must be an IPv4/],
    [["--crds", "--redis-url=http://x"], /--redis-url must be a redis:\/\//],
    [["--crds", "--redis-password-file=/p"], /needs --redis-url/],
    [["--crds", "--frobnicate"], /unknown option "--frobnicate"; valid options: --config/],
    [["--crds", "extra"], /unexpected argument "extra"/],
    [["--config"], /option "--config" needs a value/],
    [["--crds=yes"], /option "--crds" takes no value/],
  ];
  for (const [args, want] of cases) assert.match(refusal(args), want, args.join(" "));
});

Deno.test("--help and -h answer help", () => {
  assert.deepEqual(parseRunArgs(["--help"]), { ok: true, value: "help" });
  assert.deepEqual(parseRunArgs(["-h", "--crds"]), { ok: true, value: "help" });
});

Deno.test("the pod's args parse into CRDs, the pod namespace, the Lease and any address", () => {
  const s = settings(podRunArgs(9090).slice(1).map((a) => a.replace("$(POD_NAMESPACE)", "tenant")));
  assert.equal(podRunArgs(9090)[0], "run");
  assert.deepEqual(s.source, { kind: "crds" });
  assert.deepEqual(s.lease, { name: LEASE_NAME, namespace: "tenant" });
  assert.deepEqual([s.httpPort, s.httpAddress], [9090, "0.0.0.0"]);
});

Deno.test("the host unit's args parse into the config file and the same Lease an in-cluster install holds", () => {
  const s = settings(hostRunArgs().slice(1));
  assert.deepEqual(s.source, { kind: "file", path: HOST_CONFIG_FILE });
  assert.deepEqual(s.lease, { name: LEASE_NAME, namespace: "proxscale-system" });
  assert.equal(s.httpAddress, DEFAULT_HTTP_ADDRESS);
});

Deno.test("isIpLiteral accepts addresses and refuses host names and out-of-range octets", () => {
  for (const s of ["0.0.0.0", "127.0.0.1", "::", "::1", "fe80::1", "::ffff:10.0.0.1"]) {
    assert.ok(isIpLiteral(s), s);
  }
  for (const s of ["localhost", "256.0.0.1", "01.2.3.4", "1.2.3", "abc", "1:2:3:4:5:6:7:8:9"]) {
    assert.ok(!isIpLiteral(s), s);
  }
});

Deno.test("usage and help list every option but help in the usage line", () => {
  const usage = runUsage();
  assert.ok(usage.startsWith("proxscale run (--config FILE | --crds) [--kubeconfig FILE]"));
  assert.ok(!usage.includes("--help"));
  const help = runOptionsHelp();
  for (const k of Object.keys(RUN_OPTIONS)) assert.match(help, new RegExp(`^  --${k}\\b`, "m"));
});

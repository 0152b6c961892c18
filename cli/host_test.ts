/**
 * `proxscale host` and `proxscale pool` against a config file and a stand-in daemon /status:
 * what they change in the file (comments kept), what they print, and how `host drain --wait`
 * reports progress until no NodeClaim is left on the host.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { captureIo, type Command } from "./command.ts";
import { hostCommand } from "./host.ts";
import { poolCommand } from "./pool.ts";
import { setHostInConfigText } from "./host_maintenance_edit.ts";
import type { StatusReport } from "../daemon/status_report.ts";
import { emptyCounts } from "../daemon/ports/queue.ts";
import { loadConfigFile } from "../adapters/config/load.ts";

const EXAMPLE = new URL("../config.example.yaml", import.meta.url);

async function cli(cmd: Command, args: string[]) {
  const io = captureIo();
  const code = await cmd.run(args, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

async function exampleCopy(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-host-" });
  const path = `${dir}/proxscale.yaml`;
  await Deno.copyFile(EXAMPLE, path);
  return path;
}

Deno.test("host --help and pool --help print their usage", async () => {
  const h = await cli(hostCommand, ["--help"]);
  assert.equal(h.code, 0);
  assert.match(h.out, /usage: proxscale host list\|cordon\|uncordon\|drain/);
  assert.match(h.out, /host-maintenance\.proxscale\.io\/HOST/);
  const p = await cli(poolCommand, ["--help"]);
  assert.equal(p.code, 0);
  assert.match(p.out, /scale-min POOL N/);
  const bad = await cli(hostCommand, ["reboot", "pve1"]);
  assert.equal(bad.code, 2);
});

Deno.test("host drain/cordon/uncordon edit the host's maintenance field in a config file, comments kept", async () => {
  const path = await exampleCopy();
  const before = await Deno.readTextFile(path);
  const drain = await cli(hostCommand, ["drain", "pve2", "--config", path]);
  assert.equal(drain.code, 0, drain.err);
  assert.match(drain.out, /Provider homelab host pve2: maintenance set to drain/);
  let loaded = await loadConfigFile(path);
  assert.ok(loaded.ok);
  assert.deepEqual(
    loaded.value.providers[0]!.hosts.map((h) => [h.name, h.maintenance]),
    [["pve1", undefined], ["pve2", "drain"], ["pve3", undefined]],
  );
  const text = await Deno.readTextFile(path);
  assert.match(text, /# The Proxmox nodes proxscale may put VMs on/);
  assert.equal(await cli(hostCommand, ["cordon", "pve1", "--config", path]).then((r) => r.code), 0);
  const list = await cli(hostCommand, ["list", "--config", path]);
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /homelab\s+pve1\s+rack-a\s+cordon\s+config/);
  assert.match(list.out, /homelab\s+pve2\s+rack-b\s+drain\s+config/);
  assert.match(list.out, /homelab\s+pve3\s+rack-c\s+-\s+-/);
  for (const h of ["pve1", "pve2"]) {
    assert.equal((await cli(hostCommand, ["uncordon", h, "--config", path])).code, 0);
  }
  loaded = await loadConfigFile(path);
  assert.ok(loaded.ok);
  assert.ok(loaded.value.providers[0]!.hosts.every((h) => h.maintenance === undefined));
  assert.deepEqual(parse(await Deno.readTextFile(path)), parse(before));
  const missing = await cli(hostCommand, ["drain", "pve9", "--config", path]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no host pve9 in any Provider/);
});

Deno.test("a host name in two Providers needs --provider", () => {
  const text = `providers:
  - name: a
    spec: {hosts: [{name: pve1}]}
  - name: b
    spec: {hosts: [{name: pve1}]}
`;
  const r = setHostInConfigText(text, "pve1", undefined, "drain");
  assert.ok(!r.ok);
  assert.match(r.error, /in several Providers \(a, b\): say which with --provider/);
  const b = setHostInConfigText(text, "pve1", "b", "drain");
  assert.ok(b.ok);
  assert.equal(b.value.provider, "b");
  assert.match(
    b.value.text,
    /name: b\n {4}spec: \{ hosts: \[ \{ name: pve1, maintenance: drain \} \] \}/,
  );
});

Deno.test("host commands refuse a Redfish Provider's machine, saying bare metal is one node", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-host-metal-" });
  const path = `${dir}/proxscale.yaml`;
  const text = `providers:
  - name: homelab
    spec: {hosts: [{name: pve1}]}
  - name: rack
    spec:
      kind: redfish
      machines:
        - {name: r1-07, endpoint: "https://bmc.lan", systemId: S1, username: u, password: {file: /p}}
`;
  await Deno.writeTextFile(path, text);
  const metal = await cli(hostCommand, ["drain", "r1-07", "--config", path]);
  assert.equal(metal.code, 1);
  assert.match(
    metal.err,
    /Provider rack is kind redfish \(bare metal\): host maintenance is for Proxmox hosts; a machine such as r1-07 is one node, so cordon or drain its node with kubectl, or delete its NodeClaim/,
  );
  const named = await cli(hostCommand, ["cordon", "pve1", "--provider", "rack", "--config", path]);
  assert.equal(named.code, 1);
  assert.match(named.err, /Provider rack is kind redfish/);
  assert.equal(await Deno.readTextFile(path), text, "the file is untouched");
  const pve = await cli(hostCommand, ["cordon", "pve1", "--config", path]);
  assert.equal(pve.code, 0, pve.err);
  const unknown = await cli(hostCommand, ["cordon", "nowhere", "--config", path]);
  assert.match(unknown.err, /no host nowhere in any Provider/, "an unknown name is still unknown");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("pool scale-min and pause/resume edit the NodePool spec in a config file", async () => {
  const path = await exampleCopy();
  const r = await cli(poolCommand, ["scale-min", "general", "2", "--config", path]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /NodePool general minNodes set to 2/);
  assert.equal((await cli(poolCommand, ["pause", "general", "--config", path])).code, 0);
  let c = await loadConfigFile(path);
  assert.ok(c.ok);
  const general = () => c.ok ? c.value.nodePools.find((p) => p.name === "general")! : undefined;
  assert.equal(general()?.minNodes, 2);
  assert.equal(general()?.paused, true);
  const list = await cli(poolCommand, ["list", "--config", path]);
  assert.match(list.out, /general\s+worker\s+0\s+2\s+32\s+0 vCPU\s+0Mi\s+yes/);
  assert.equal((await cli(poolCommand, ["resume", "general", "--config", path])).code, 0);
  c = await loadConfigFile(path);
  assert.equal(general()?.paused, undefined);
  assert.equal(
    (await cli(poolCommand, ["scale-min", "general", "many", "--config", path])).code,
    2,
  );
  const none = await cli(poolCommand, ["pause", "nope", "--config", path]);
  assert.equal(none.code, 1);
  assert.match(none.err, /no NodePool nope/);
});

Deno.test("host drain --wait prints progress from the daemon's /status until no NodeClaim is left", async () => {
  const path = await exampleCopy();
  let left = 3;
  const report = (): StatusReport => ({
    time: Date.now(),
    leader: true,
    maintenance: { paused: false, local: false },
    pools: [],
    hosts: [{ provider: "homelab", host: "pve2", zone: "rack-b", claims: left, deleting: 1 }],
    claims: [],
    jobs: { counts: emptyCounts(), list: [] },
    decisions: [],
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    const body = JSON.stringify(report());
    left = Math.max(0, left - 1);
    return new Response(body, { headers: { "content-type": "application/json" } });
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}`;
    const r = await cli(hostCommand, [
      "drain",
      "pve2",
      "--config",
      path,
      "--url",
      url,
      "--wait",
      "--interval",
      "10ms",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.split("\n").slice(1), [
      "pve2: 3 NodeClaims left (1 being deleted)",
      "pve2: 2 NodeClaims left (1 being deleted)",
      "pve2: 1 NodeClaim left (1 being deleted)",
      "pve2: drained, no proxscale VM left",
    ]);
    left = 5;
    const slow = await cli(hostCommand, [
      "drain",
      "pve2",
      "--config",
      path,
      "--url",
      url,
      "--wait",
      "--interval",
      "10ms",
      "--timeout",
      "20ms",
    ]);
    assert.equal(slow.code, 1);
    assert.match(slow.err, /still not drained/);
    const noUrl = await cli(hostCommand, ["drain", "pve2", "--config", path, "--wait"]);
    assert.equal(noUrl.code, 2);
  } finally {
    await server.shutdown();
  }
});

Deno.test("host list shows a host that host power turned off as powered off, one booting as booting", async () => {
  const report = (): StatusReport => ({
    time: Date.now(),
    leader: true,
    maintenance: { paused: false, local: false },
    pools: [],
    hosts: [
      { provider: "homelab", host: "pve1", zone: "rack-a", claims: 2, deleting: 0 },
      { provider: "homelab", host: "pve3", zone: "rack-c", claims: 0, deleting: 0, power: "off" },
      {
        provider: "homelab",
        host: "pve4",
        zone: "rack-d",
        claims: 0,
        deleting: 0,
        power: "booting",
      },
    ],
    claims: [],
    jobs: { counts: emptyCounts(), list: [] },
    decisions: [],
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(JSON.stringify(report()), { headers: { "content-type": "application/json" } }),
  );
  try {
    const r = await cli(hostCommand, ["list", "--url", `http://127.0.0.1:${server.addr.port}`]);
    assert.equal(r.code, 0, r.err);
    const state = (host: string) =>
      r.out.split("\n").find((l) => l.includes(` ${host} `))!.trim().split(/\s{2,}/)[5];
    assert.deepEqual([state("pve1"), state("pve3"), state("pve4")], [
      "up",
      "powered off",
      "booting",
    ]);
  } finally {
    await server.shutdown();
  }
});

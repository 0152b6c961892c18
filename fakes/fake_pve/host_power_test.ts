import assert from "node:assert/strict";
import { startFakePve } from "./server.ts";
import { request } from "./testing/client.ts";

type Entry = Record<string, unknown>;

Deno.test("a powered-off host is offline in /cluster/status and /nodes, its calls fail with 595, and it joins again after its boot delay", async () => {
  let now = Date.UTC(2027, 0, 1);
  const pve = await startFakePve({ seed: 5, now: () => now });
  try {
    const headers = { Authorization: `PVEAPIToken=${pve.tokenId}=${pve.tokenSecret}` };
    const get = async (path: string) => {
      const r = await request(pve.url, pve.caPem, "GET", `/api2/json${path}`, { headers });
      return r;
    };
    const onlineIn = async (path: string, field: string, online: unknown) => {
      const data = (await get(path)).json as { data: Entry[] };
      return data.data.filter((e) => e[field] === online).map((e) => e.node ?? e.name).sort();
    };
    pve.model.addVm({ vmid: 200, node: "pve3", name: "foreign", running: true });
    pve.model.setBootDelay(90_000);
    assert.equal(pve.model.setHostPower("pve3", false), true);
    assert.equal(pve.model.hostPower("pve3"), "off");
    assert.deepEqual(await onlineIn("/cluster/status", "online", 0), ["pve3"]);
    assert.deepEqual(await onlineIn("/nodes", "status", "offline"), ["pve3"]);
    const call = await get("/nodes/pve3/qemu");
    assert.equal(call.status, 595);
    assert.equal(call.reason, "No route to host");
    // The power cut stopped the VM that ran there.
    const vms = (await get("/cluster/resources?type=vm")).json as { data: Entry[] };
    assert.equal(vms.data.find((v) => v.vmid === 200)?.node, "pve3");
    pve.model.setHostPower("pve3", true);
    assert.equal(pve.model.hostPower("pve3"), "on");
    now += 60_000;
    assert.deepEqual(await onlineIn("/cluster/status", "online", 0), ["pve3"], "still booting");
    now += 31_000;
    assert.deepEqual(await onlineIn("/cluster/status", "online", 0), []);
    assert.equal((await get("/nodes/pve3/qemu")).status, 200);
    const vm = (await get("/nodes/pve3/qemu/200/status/current")).json as { data: Entry };
    assert.equal(vm.data.status, "stopped");
  } finally {
    await pve.close();
  }
});

Deno.test("powering off hosts until their votes are not more than half loses quorum: writes fail, /cluster/status says quorate 0", async () => {
  const pve = await startFakePve({ seed: 5 });
  try {
    const headers = { Authorization: `PVEAPIToken=${pve.tokenId}=${pve.tokenSecret}` };
    const quorate = async () => {
      const r = await request(pve.url, pve.caPem, "GET", "/api2/json/cluster/status", { headers });
      return ((r.json as { data: Entry[] }).data.find((e) => e.type === "cluster")!).quorate;
    };
    const votes = await request(pve.url, pve.caPem, "GET", "/api2/json/cluster/config/nodes", {
      headers,
    });
    assert.deepEqual(
      (votes.json as { data: Entry[] }).data.map((e) => [e.node, e.quorum_votes]),
      [["pve1", "1"], ["pve2", "1"], ["pve3", "1"]],
    );
    pve.model.setHostPower("pve3", false);
    assert.equal(await quorate(), 1, "2 of 3 votes is more than half");
    pve.model.setHostPower("pve2", false);
    assert.equal(await quorate(), 0, "1 of 3 votes is not");
    const create = await request(pve.url, pve.caPem, "POST", "/api2/json/nodes/pve1/qemu", {
      headers,
      body: "vmid=300&name=x",
    });
    assert.equal(create.status, 500);
    assert.equal(create.reason, "cluster not ready - no quorum?");
  } finally {
    await pve.close();
  }
});

Deno.test("the HA status lists each HA resource with the node its VM is on", async () => {
  const pve = await startFakePve({ seed: 5 });
  try {
    const headers = { Authorization: `PVEAPIToken=${pve.tokenId}=${pve.tokenSecret}` };
    pve.model.addVm({ vmid: 210, node: "pve2", name: "db", running: true });
    pve.model.setHaResource(210, true);
    const r = await request(pve.url, pve.caPem, "GET", "/api2/json/cluster/ha/status/current", {
      headers,
    });
    const services = (r.json as { data: Entry[] }).data.filter((e) => e.type === "service");
    assert.deepEqual(services.map((s) => [s.sid, s.node, s.state]), [[
      "vm:210",
      "pve2",
      "started",
    ]]);
  } finally {
    await pve.close();
  }
});

import assert from "node:assert/strict";
import { startFakePve } from "./server.ts";
import { request } from "./testing/client.ts";

const PATH = "/api2/json/cluster/ha/status/manager_status";

Deno.test("the HA manager status shows a node put into maintenance as 'maintenance' until it is taken out", async () => {
  const pve = await startFakePve({ seed: 3 });
  try {
    const headers = { Authorization: `PVEAPIToken=${pve.tokenId}=${pve.tokenSecret}` };
    const read = async () => {
      const r = await request(pve.url, pve.caPem, "GET", PATH, { headers });
      assert.equal(r.status, 200, r.text);
      return (r.json as { data: { manager_status: { node_status: Record<string, string> } } })
        .data;
    };
    const before = await read();
    assert.ok(Object.keys(before.manager_status.node_status).length >= 2);
    assert.ok(Object.values(before.manager_status.node_status).every((s) => s === "online"));
    pve.model.setHaMaintenance("pve2", true);
    const during = await read();
    assert.equal(during.manager_status.node_status["pve2"], "maintenance");
    assert.equal(during.manager_status.node_status["pve1"], "online");
    pve.model.setHaMaintenance("pve2", false);
    assert.equal((await read()).manager_status.node_status["pve2"], "online");
  } finally {
    await pve.close();
  }
});

Deno.test("the HA manager status needs Sys.Audit on /", async () => {
  const limited = { id: "autoscaler@pve!k8s", secret: "s3cret", acls: [] };
  const pve = await startFakePve({ seed: 3, tokens: [limited] });
  try {
    const headers = { Authorization: `PVEAPIToken=${limited.id}=${limited.secret}` };
    const r = await request(pve.url, pve.caPem, "GET", PATH, { headers });
    assert.equal(r.status, 403);
    assert.equal(r.reason, "Permission check failed (/, Sys.Audit)");
  } finally {
    await pve.close();
  }
});

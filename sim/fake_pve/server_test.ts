import assert from "node:assert/strict";
import { startFakePve } from "./server.ts";
import { request } from "./testing_client.ts";
import { parseUpid } from "./upid.ts";

Deno.test("smoke", async () => {
  const pve = await startFakePve({ seed: 3 });
  try {
    const auth = { Authorization: `PVEAPIToken=${pve.tokenId}=${pve.tokenSecret}` };
    const v = await request(pve.url, pve.caPem, "GET", "/api2/json/version", { headers: auth });
    console.log(v.status, v.reason, v.text, v.headers);
    const no = await request(pve.url, pve.caPem, "GET", "/api2/json/version");
    console.log(no.status, no.reason, JSON.stringify(no.text), no.headers);
    const c = await request(pve.url, pve.caPem, "POST", "/api2/json/nodes/pve1/qemu/9000/clone", {
      headers: auth,
      body: "newid=101&name=w1",
    });
    console.log(c.status, c.reason, c.text);
    assert.ok(parseUpid((c.json as { data: string }).data));
  } finally {
    await pve.close();
  }
});

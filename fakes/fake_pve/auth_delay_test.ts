import assert from "node:assert/strict";
import { startFakePve } from "./server.ts";
import { request } from "./testing/client.ts";

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, performance.now() - t0];
}

Deno.test("with authDelayMs, a wrong token and a wrong login password both wait before their 401", async () => {
  const pve = await startFakePve({ seed: 3, faults: { authDelayMs: 300 } });
  try {
    const [badToken, t1] = await timed(() =>
      request(pve.url, pve.caPem, "GET", "/api2/json/version", {
        headers: { Authorization: `PVEAPIToken=${pve.tokenId}=wrong` },
      })
    );
    assert.equal(badToken.status, 401);
    assert.ok(t1 >= 290, `the token failure waited ${t1} ms`);
    const [badLogin, t2] = await timed(() =>
      request(pve.url, pve.caPem, "POST", "/api2/json/access/ticket", {
        body: "username=root%40pam&password=wrong",
      })
    );
    assert.equal(badLogin.status, 401);
    assert.ok(t2 >= 290, `the login failure waited ${t2} ms`);
  } finally {
    await pve.close();
  }
});

Deno.test("without the option a failed authentication answers at once", async () => {
  const pve = await startFakePve({ seed: 3 });
  try {
    const [badLogin, t] = await timed(() =>
      request(pve.url, pve.caPem, "POST", "/api2/json/access/ticket", {
        body: "username=root%40pam&password=wrong",
      })
    );
    assert.equal(badLogin.status, 401);
    assert.ok(t < 250, `answered after ${t} ms`);
  } finally {
    await pve.close();
  }
});

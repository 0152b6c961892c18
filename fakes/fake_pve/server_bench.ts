/** Throughput of the fake PVE: in-process model calls and HTTPS round trips (keep-alive). */
import https from "node:https";
import { PveModel } from "./model.ts";
import { startFakePve } from "./server.ts";

const ROOT = "root@pam!proxscale";
let t = 1_800_000_000_000;
const model = new PveModel({ now: () => t, hosts: 3 });
let next = 10_000;

Deno.bench("model: clone + run to completion (virtual clock)", { group: "model" }, () => {
  const id = next++;
  const r = model.cloneVm("pve1", 9000, { newid: String(id) }, ROOT);
  if (!r.ok) throw new Error(r.error.message);
  t = model.nextEventAt() ?? t;
  model.advance();
  t = model.nextEventAt() ?? t;
  model.advance();
});

Deno.bench("model: /cluster/resources with ~N VMs", { group: "model" }, () => {
  model.resources();
});

const pve = await startFakePve({ seed: 1 });
const agent = new https.Agent({ keepAlive: true, ca: pve.caPem });
const auth = `PVEAPIToken=${pve.tokenId}=${pve.tokenSecret}`;
const u = new URL(pve.url);

function get(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    https.get(
      { host: u.hostname, port: u.port, path, agent, headers: { Authorization: auth } },
      (res) => {
        res.resume();
        res.on("end", () => resolve());
      },
    ).on("error", reject);
  });
}

Deno.bench("https: GET /version (keep-alive)", { group: "https" }, async () => {
  await get("/api2/json/version");
});

Deno.bench("https: GET /cluster/resources (keep-alive)", { group: "https" }, async () => {
  await get("/api2/json/cluster/resources");
});

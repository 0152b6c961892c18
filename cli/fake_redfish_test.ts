import { equal, match, ok } from "node:assert/strict";
import { captureIo } from "./command.ts";
import { fakeRedfishCommand, fakeRedfishCommandWith } from "./fake_redfish.ts";

Deno.test("fake-redfish rejects bad flags with exit code 2", async () => {
  for (const args of [["--systems", "0"], ["--port", "70000"], ["--cpus", "x"], ["--bogus"]]) {
    const io = captureIo();
    equal(await fakeRedfishCommand.run(args, io), 2, args.join(" "));
    ok(io.stderr.length > 0);
  }
});

Deno.test("fake-redfish serves N systems over HTTPS with the printed login and stops when told", async () => {
  const io = captureIo();
  let stop = () => {};
  const stopped = new Promise<void>((r) => (stop = r));
  const done = fakeRedfishCommandWith(() => stopped).run(["--systems", "3", "--port", "0"], io);
  while (io.stdout.length === 0) await new Promise((r) => setTimeout(r, 20));
  const out = io.stdout.join("\n");
  const url = /^url:\s+(\S+)$/m.exec(out)?.[1];
  ok(url, out);
  match(out, /^fingerprint:\s+([0-9A-F]{2}:){31}[0-9A-F]{2}$/m);
  equal(out.match(/^system:/gm)?.length, 3);
  const https = await import("node:https");
  const get = (auth?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(`${url}/redfish/v1/Systems`, {
        rejectUnauthorized: false,
        agent: false,
        headers: auth ? { Authorization: `Basic ${btoa(auth)}` } : {},
      }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    });
  equal((await get()).status, 401);
  const r = await get("admin:proxscale");
  equal(r.status, 200);
  equal(JSON.parse(r.body)["Members@odata.count"], 3);
  stop();
  equal(await done, 0);
  match(io.stdout.at(-1)!, /stopped/);
});

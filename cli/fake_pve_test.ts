import assert from "node:assert/strict";
import { captureIo } from "./command.ts";
import { fakePveCommand, fakePveCommandWith } from "./fake_pve.ts";

Deno.test("fake-pve rejects bad flags with exit code 2", async () => {
  for (
    const args of [["--hosts", "0"], ["--port", "70000"], ["--token-id", "nobang@pam"], ["--bogus"]]
  ) {
    const io = captureIo();
    assert.equal(await fakePveCommand.run(args, io), 2, args.join(" "));
    assert.ok(io.stderr.length > 0);
  }
});

Deno.test("fake-pve prints URL, fingerprint and a working token, answers 401 without it, stops when told", async () => {
  const io = captureIo();
  let stop = () => {};
  const stopped = new Promise<void>((r) => (stop = r));
  const done = fakePveCommandWith(() => stopped).run(
    ["--hosts", "2", "--port", "0", "--token-id", "ci@pve!smoke", "--token-secret", "s3cret"],
    io,
  );
  while (io.stdout.length === 0) await new Promise((r) => setTimeout(r, 20));
  const out = io.stdout.join("\n");
  const url = /^url:\s+(\S+)$/m.exec(out)?.[1];
  const fingerprint = /^fingerprint:\s+(\S+)$/m.exec(out)?.[1];
  assert.ok(url, out);
  assert.match(fingerprint!, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.match(out, /^token:\s+PVEAPIToken=ci@pve!smoke=s3cret$/m);
  assert.match(out, /pve1, pve2/);
  // the fake's certificate is checked by fingerprint here, as a pinning client would
  const tls = await import("node:tls");
  const u = new URL(url!);
  const seen = await new Promise<string>((resolve, reject) => {
    const s = tls.connect(
      { host: u.hostname, port: Number(u.port), rejectUnauthorized: false },
      () => {
        resolve(s.getPeerCertificate().fingerprint256);
        s.end();
      },
    );
    s.on("error", reject);
  });
  assert.equal(seen, fingerprint);
  const https = await import("node:https");
  const get = (headers: Record<string, string>) =>
    new Promise<{ status: number; reason: string }>((resolve, reject) => {
      const req = https.request(
        `${url}/api2/json/version`,
        { rejectUnauthorized: false, headers, agent: false },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode!, reason: res.statusMessage! }));
        },
      );
      req.on("error", reject);
      req.end();
    });
  assert.deepEqual(await get({}), { status: 401, reason: "No ticket" });
  assert.deepEqual(await get({ Authorization: "PVEAPIToken=ci@pve!smoke=s3cret" }), {
    status: 200,
    reason: "OK",
  });
  stop();
  assert.equal(await done, 0);
  assert.equal(io.stdout.at(-1), "fake-pve stopped");
});

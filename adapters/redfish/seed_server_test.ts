import { deepEqual, equal } from "node:assert/strict";
import { issueCa, issueLeaf, serverSans } from "../../fakes/tls/pki.ts";
import { parseSeedUrl, SeedServer } from "./seed_server.ts";

async function get(
  url: string,
  ca: string,
  method = "GET",
): Promise<{ status: number; bytes: number[] }> {
  const https = await import("node:https");
  return await new Promise((resolve, reject) => {
    const req = https.request(url, { ca, method, agent: false }, (res) => {
      const out: number[] = [];
      res.on("data", (c: Uint8Array) => out.push(...c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes: out }));
    });
    req.on("error", reject);
    req.end();
  });
}

Deno.test("a seed URL serves its ISO once over HTTPS, then is refused; expired and guessed URLs are refused", async () => {
  const ca = await issueCa("seed test CA");
  const leaf = await issueLeaf(ca, {
    subject: "/CN=localhost",
    usage: "serverAuth",
    sans: serverSans(),
  });
  let t = 1000;
  const s = await SeedServer.start({ certPem: leaf.certPem, keyPem: leaf.keyPem, now: () => t });
  try {
    const url = s.offer("metal", "pool-abc12", new Uint8Array([7, 8, 9]), 60_000);
    deepEqual(parseSeedUrl(url), { provider: "metal", claim: "pool-abc12" });
    equal((await get(url, ca.caPem, "HEAD")).status, 200, "a HEAD probe does not burn it");
    deepEqual(await get(url, ca.caPem), { status: 200, bytes: [7, 8, 9] });
    equal((await get(url, ca.caPem)).status, 410, "a second fetch is refused");
    const late = s.offer("metal", "pool-x", new Uint8Array([1]), 1000);
    t += 2000;
    equal((await get(late, ca.caPem)).status, 410, "an expired URL is refused");
    const guessed = url.replace(
      /\/[^/]+\.iso$/,
      "/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.iso",
    );
    equal((await get(guessed, ca.caPem)).status, 404);
    const w = s.offer("metal", "pool-y", new Uint8Array([1]), 60_000);
    s.withdraw("metal", "pool-y");
    equal((await get(w, ca.caPem)).status, 410, "a withdrawn offer is refused");
  } finally {
    await s.close();
  }
});

Deno.test("only proxscale seed paths parse as ours", () => {
  equal(parseSeedUrl("https://x/images/ubuntu.iso"), undefined);
  equal(parseSeedUrl("not a url"), undefined);
  equal(parseSeedUrl("https://x/proxscale-seed/p/c/short.iso"), undefined);
});

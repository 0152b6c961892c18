import assert from "node:assert/strict";
import { issueCa, issueLeaf, serverSans } from "../tls/pki.ts";
import { listen } from "./listener.ts";

Deno.test("close ends a connection whose TLS handshake never finished (a killed client's)", async () => {
  const ca = await issueCa("listener test CA");
  const leaf = await issueLeaf(ca, {
    subject: "/CN=127.0.0.1",
    usage: "serverAuth",
    sans: serverSans("127.0.0.1"),
  });
  const l = await listen(
    { port: 0, tls: { cert: leaf.certPem, key: leaf.keyPem, ca: ca.caPem } },
    () => Promise.resolve(new Response("ok")),
  );
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
  // Let the server accept it; no ClientHello is ever sent.
  await new Promise((r) => setTimeout(r, 100));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    l.close().then(() => "closed"),
    new Promise<string>((r) => timer = setTimeout(() => r("still waiting after 10 s"), 10_000)),
  ]);
  clearTimeout(timer);
  try {
    raw.close();
  } catch { /* already closed by the server */ }
  assert.equal(outcome, "closed");
});

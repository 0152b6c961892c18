import assert from "node:assert/strict";
import { issueCa, issueLeaf, serverSans } from "../tls/pki.ts";
import { listen } from "./listener.ts";
import { closeWithHalfOpenConnection } from "../tls/testing/half_open.ts";

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
  assert.equal(await closeWithHalfOpenConnection(l.port, () => l.close()), "closed");
});

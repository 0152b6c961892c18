import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { fingerprintOf, issueCa, issueLeaf, serverSans, userSubject } from "./pki.ts";

Deno.test("a server leaf is X.509 v3, signed by the CA, with the SANs rustls checks", async () => {
  const ca = await issueCa("test-ca");
  const leaf = await issueLeaf(ca, {
    subject: "/CN=localhost",
    usage: "serverAuth",
    sans: serverSans("pve1.lan"),
  });
  const cert = new X509Certificate(leaf.certPem);
  assert.ok(cert.verify(new X509Certificate(ca.caPem).publicKey));
  assert.equal(cert.ca, false);
  assert.match(cert.subjectAltName ?? "", /DNS:localhost.*IP Address:127\.0\.0\.1.*DNS:pve1\.lan/);
  assert.match(fingerprintOf(leaf.certPem), /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
});

Deno.test("a client leaf names the user and groups", async () => {
  const ca = await issueCa("test-ca");
  const leaf = await issueLeaf(ca, {
    subject: userSubject("alice", ["ops", "a/b"]),
    usage: "clientAuth",
  });
  const subject = new X509Certificate(leaf.certPem).subject;
  assert.match(subject, /CN=alice/);
  assert.match(subject, /O=ops/);
  assert.match(subject, /O=a\/b/);
});

/**
 * A throw-away PKI for the fake PVE: a self-signed CA and an X.509 v3 leaf (SAN localhost and
 * 127.0.0.1) made with openssl, like pve-root-ca.pem and pve-ssl.pem on a real node. rustls
 * rejects v1 certificates and CA certificates used as leaves (docs/toolchain.md, 'Test
 * certificates'), hence the extensions file. Clients pin the leaf's SHA-256 fingerprint (over its
 * DER, upper-case hex pairs joined by colons), as PVE publishes it.
 */
import { fingerprintOf, issueCa, issueLeaf, serverSans } from "../tls/pki.ts";

export { fingerprintOf };

/** PEM material and the leaf's fingerprint in `AB:CD:…` form. */
export type FakePki = { caPem: string; certPem: string; keyPem: string; fingerprint: string };

/** Generates a CA and a leaf for `hostname` (plus localhost and 127.0.0.1). */
export async function generatePki(hostname = "localhost"): Promise<FakePki> {
  const ca = await issueCa("Proxmox Virtual Environment fake CA");
  const leaf = await issueLeaf(ca, {
    subject: `/CN=${hostname}`,
    usage: "serverAuth",
    sans: serverSans(hostname),
  });
  return {
    caPem: ca.caPem,
    certPem: leaf.certPem,
    keyPem: leaf.keyPem,
    fingerprint: fingerprintOf(leaf.certPem),
  };
}

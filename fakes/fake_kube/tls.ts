/**
 * Test TLS material for the fake API server: a CA and an X.509 v3 server certificate with SAN
 * `IP:127.0.0.1, DNS:localhost` (docs/toolchain.md, 'Test certificates'), made with the system
 * `openssl` once per process (EC P-256, so it takes milliseconds) and shared by every server.
 */
import { issueCa, issueLeaf, serverSans, type TestCa, userSubject } from "../tls/pki.ts";

/**
 * PEM texts: the CA to trust (and its key, to issue client certificates), the server's
 * certificate and key, and an administrator client certificate (CN=proxscale-admin,
 * O=system:masters) for kubeconfig users that authenticate with certificates.
 */
export type TlsMaterial = {
  caPem: string;
  caKeyPem: string;
  certPem: string;
  keyPem: string;
  clientCertPem: string;
  clientKeyPem: string;
};

let cached: Promise<TlsMaterial> | undefined;

async function generate(): Promise<TlsMaterial> {
  const ca = await issueCa("proxscale-fake-ca");
  const server = await issueLeaf(ca, {
    subject: "/CN=localhost",
    usage: "serverAuth",
    sans: serverSans(),
  });
  const client = await signClient(ca, "proxscale-admin", ["system:masters"]);
  return {
    caPem: ca.caPem,
    caKeyPem: ca.caKeyPem,
    certPem: server.certPem,
    keyPem: server.keyPem,
    clientCertPem: client.certPem,
    clientKeyPem: client.keyPem,
  };
}

function signClient(
  ca: TestCa,
  user: string,
  groups: string[],
): Promise<{ certPem: string; keyPem: string }> {
  return issueLeaf(ca, { subject: userSubject(user, groups), usage: "clientAuth" });
}

/** Issues a client certificate from the fake's CA: CN is the user, each O a group. */
export async function issueClientCert(
  user: string,
  groups: string[] = [],
): Promise<{ certPem: string; keyPem: string }> {
  const m = await tlsMaterial();
  return await signClient({ caPem: m.caPem, caKeyPem: m.caKeyPem }, user, groups);
}

/** The process-wide TLS material (generated on first use; needs `--allow-run=openssl`). */
export function tlsMaterial(): Promise<TlsMaterial> {
  cached ??= generate();
  return cached;
}

/**
 * A throw-away PKI for the fake PVE: a self-signed CA and an X.509 v3 leaf (SAN localhost and
 * 127.0.0.1) made with openssl, like pve-root-ca.pem and pve-ssl.pem on a real node. rustls
 * rejects v1 certificates and CA certificates used as leaves (deno-notes.md §13), hence the
 * extensions file. The leaf's SHA-256 fingerprint is what clients pin (proxmox-api.md §3.3).
 */
import { X509Certificate } from "node:crypto";

/** PEM material and the leaf's fingerprint in `AB:CD:…` form. */
export type FakePki = { caPem: string; certPem: string; keyPem: string; fingerprint: string };

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** SHA-256 over the DER of a PEM certificate, as 32 upper-case hex pairs joined by colons. */
export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.toUpperCase();
}

/** Generates a CA and a leaf for `hostname` (plus localhost and 127.0.0.1) in a temp dir. */
export async function generatePki(hostname = "localhost"): Promise<FakePki> {
  const dir = await Deno.makeTempDir({ prefix: "fake-pve-pki-" });
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    await openssl([
      "req",
      "-x509",
      ...ec,
      "-days",
      "3650",
      "-subj",
      "/CN=Proxmox Virtual Environment fake CA",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ], dir);
    await openssl([
      "req",
      ...ec,
      "-subj",
      `/CN=${hostname}`,
      "-keyout",
      "srv.key",
      "-out",
      "srv.csr",
    ], dir);
    const sans = new Set(["DNS:localhost", "IP:127.0.0.1"]);
    if (hostname !== "localhost") {
      sans.add(/^[\d.]+$/.test(hostname) ? `IP:${hostname}` : `DNS:${hostname}`);
    }
    await Deno.writeTextFile(
      `${dir}/srv.ext`,
      `subjectAltName=${
        [...sans].join(",")
      }\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`,
    );
    await openssl([
      "x509",
      "-req",
      "-in",
      "srv.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "3650",
      "-extfile",
      "srv.ext",
      "-out",
      "srv.pem",
    ], dir);
    const caPem = await Deno.readTextFile(`${dir}/ca.pem`);
    const certPem = await Deno.readTextFile(`${dir}/srv.pem`);
    const keyPem = await Deno.readTextFile(`${dir}/srv.key`);
    return { caPem, certPem, keyPem, fingerprint: fingerprintOf(certPem) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

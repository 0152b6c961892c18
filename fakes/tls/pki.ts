/**
 * Throw-away PKI for the fakes and their tests: a CA and X.509 v3 leaves made with the system
 * openssl (EC P-256, so milliseconds). rustls refuses v1 certificates and CA certificates used as
 * leaves (docs/toolchain.md, 'Test certificates'), so every leaf gets an extensions file with its
 * SANs and usage.
 *
 * May import: nothing of the project. Used by fakes/fake_pve, fakes/fake_kube and test fixtures.
 */
import { X509Certificate } from "node:crypto";

/** A CA that can sign leaves: its certificate and key as PEM. */
export type TestCa = { caPem: string; caKeyPem: string };
/** A signed leaf: certificate and key as PEM. */
export type TestLeaf = { certPem: string; keyPem: string };

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

async function inTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** SHA-256 over the DER of a PEM certificate, as 32 upper-case hex pairs joined by colons. */
export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.toUpperCase();
}

/** A self-signed CA named `commonName`. */
export function issueCa(commonName: string): Promise<TestCa> {
  return inTempDir("proxscale-ca-", async (dir) => {
    await openssl([
      "req",
      "-x509",
      ...EC_KEY,
      "-days",
      "3650",
      "-subj",
      `/CN=${commonName}`,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ], dir);
    return {
      caPem: await Deno.readTextFile(`${dir}/ca.pem`),
      caKeyPem: await Deno.readTextFile(`${dir}/ca.key`),
    };
  });
}

/** SANs for a server certificate: always localhost and 127.0.0.1, plus `hostname`. */
export function serverSans(hostname = "localhost"): string[] {
  const sans = new Set(["DNS:localhost", "IP:127.0.0.1"]);
  if (hostname !== "localhost") {
    sans.add(/^[\d.]+$/.test(hostname) ? `IP:${hostname}` : `DNS:${hostname}`);
  }
  return [...sans];
}

/**
 * A leaf signed by `ca`: a server certificate (with `sans`) or a client certificate.
 * `subject` is an openssl subject such as "/CN=localhost" or "/CN=user/O=group".
 */
export function issueLeaf(
  ca: TestCa,
  opts: { subject: string; usage: "serverAuth" | "clientAuth"; sans?: string[] },
): Promise<TestLeaf> {
  return inTempDir("proxscale-leaf-", async (dir) => {
    await Deno.writeTextFile(`${dir}/ca.pem`, ca.caPem);
    await Deno.writeTextFile(`${dir}/ca.key`, ca.caKeyPem);
    await openssl([
      "req",
      ...EC_KEY,
      "-subj",
      opts.subject,
      "-keyout",
      "leaf.key",
      "-out",
      "leaf.csr",
    ], dir);
    const ext = [
      ...(opts.sans?.length ? [`subjectAltName=${opts.sans.join(",")}`] : []),
      "basicConstraints=CA:FALSE",
      "keyUsage=digitalSignature,keyEncipherment",
      `extendedKeyUsage=${opts.usage}`,
    ];
    await Deno.writeTextFile(`${dir}/leaf.ext`, ext.join("\n") + "\n");
    await openssl([
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "3650",
      "-extfile",
      "leaf.ext",
      "-out",
      "leaf.pem",
    ], dir);
    return {
      certPem: await Deno.readTextFile(`${dir}/leaf.pem`),
      keyPem: await Deno.readTextFile(`${dir}/leaf.key`),
    };
  });
}

/** openssl's subject text for a user and groups (CN and O), with its special characters escaped. */
export function userSubject(user: string, groups: readonly string[]): string {
  const esc = (v: string) => v.replace(/[/\\=+,]/g, (c) => `\\${c}`);
  return `/CN=${esc(user)}${groups.map((g) => `/O=${esc(g)}`).join("")}`;
}

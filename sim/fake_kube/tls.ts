/**
 * Test TLS material for the fake API server: a CA and an X.509 v3 server certificate with
 * SAN `IP:127.0.0.1, DNS:localhost` (deno-notes.md §13), made with the system `openssl`
 * once per process (EC P-256, so it takes milliseconds) and shared by every server.
 */

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

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

async function generate(): Promise<TlsMaterial> {
  const dir = await Deno.makeTempDir({ prefix: "fake-kube-tls-" });
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    await openssl([
      "req",
      "-x509",
      ...ec,
      "-days",
      "3650",
      "-subj",
      "/CN=proxscale-fake-ca",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
    ], dir);
    await openssl(
      ["req", ...ec, "-subj", "/CN=localhost", "-keyout", "srv.key", "-out", "srv.csr"],
      dir,
    );
    await Deno.writeTextFile(
      `${dir}/srv.ext`,
      "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
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
    const caKeyPem = await Deno.readTextFile(`${dir}/ca.key`);
    const client = await signClient(caPem, caKeyPem, "proxscale-admin", ["system:masters"]);
    return {
      caPem,
      caKeyPem,
      certPem: await Deno.readTextFile(`${dir}/srv.pem`),
      keyPem: await Deno.readTextFile(`${dir}/srv.key`),
      clientCertPem: client.certPem,
      clientKeyPem: client.keyPem,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function signClient(
  caPem: string,
  caKeyPem: string,
  user: string,
  groups: string[],
): Promise<{ certPem: string; keyPem: string }> {
  const dir = await Deno.makeTempDir({ prefix: "fake-kube-client-" });
  try {
    await Deno.writeTextFile(`${dir}/ca.pem`, caPem);
    await Deno.writeTextFile(`${dir}/ca.key`, caKeyPem);
    const esc = (v: string) => v.replace(/[/\\=+,]/g, (c) => `\\${c}`);
    const subj = `/CN=${esc(user)}${groups.map((g) => `/O=${esc(g)}`).join("")}`;
    await openssl([
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-subj",
      subj,
      "-keyout",
      "c.key",
      "-out",
      "c.csr",
    ], dir);
    await Deno.writeTextFile(
      `${dir}/c.ext`,
      "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
    );
    await openssl([
      "x509",
      "-req",
      "-in",
      "c.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "3650",
      "-extfile",
      "c.ext",
      "-out",
      "c.pem",
    ], dir);
    return {
      certPem: await Deno.readTextFile(`${dir}/c.pem`),
      keyPem: await Deno.readTextFile(`${dir}/c.key`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Issues a client certificate from the fake's CA: CN is the user, each O a group. */
export async function issueClientCert(
  user: string,
  groups: string[] = [],
): Promise<{ certPem: string; keyPem: string }> {
  const m = await tlsMaterial();
  return await signClient(m.caPem, m.caKeyPem, user, groups);
}

/** The process-wide TLS material (generated on first use; needs `--allow-run=openssl`). */
export function tlsMaterial(): Promise<TlsMaterial> {
  cached ??= generate();
  return cached;
}

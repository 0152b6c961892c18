/**
 * Test TLS material for the fake API server: a CA and an X.509 v3 server certificate with
 * SAN `IP:127.0.0.1, DNS:localhost` (deno-notes.md §13), made with the system `openssl`
 * once per process (EC P-256, so it takes milliseconds) and shared by every server.
 */

/** PEM texts: the CA to trust, and the server's certificate and key. */
export type TlsMaterial = { caPem: string; certPem: string; keyPem: string };

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
    return {
      caPem: await Deno.readTextFile(`${dir}/ca.pem`),
      certPem: await Deno.readTextFile(`${dir}/srv.pem`),
      keyPem: await Deno.readTextFile(`${dir}/srv.key`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The process-wide TLS material (generated on first use; needs `--allow-run=openssl`). */
export function tlsMaterial(): Promise<TlsMaterial> {
  cached ??= generate();
  return cached;
}

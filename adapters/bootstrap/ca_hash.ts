/**
 * Pins of the cluster CA that a joining node checks before trusting the API server: kubeadm's
 * `sha256:<hex>` of the CA's DER SubjectPublicKeyInfo and k3s's token CA hash (the `K10<sha256 hex
 * of the CA bundle>::` prefix of a secure token). Without a pin, first contact is open to a man in
 * the middle.
 */
import { createHash } from "node:crypto";
import { err, ok, type Result } from "../../core/result.ts";

/** Why a CA could not be hashed. */
export type CaHashError = { kind: "CaInvalid"; message: string };

const fail = (message: string) => err<CaHashError>({ kind: "CaInvalid", message });

/** The DER bytes of every CERTIFICATE block in a PEM text, in order. */
export function pemCertificates(pem: string): Result<Uint8Array[], CaHashError> {
  const out: Uint8Array[] = [];
  const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
  for (const m of pem.matchAll(re)) {
    const b64 = m[1]!.replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
      return fail(`certificate ${out.length + 1} in the PEM is not valid base64`);
    }
    out.push(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  }
  return ok(out);
}

type Tlv = { tag: number; start: number; contentStart: number; end: number };

/** One DER element at `at`, lengths checked against `limit`. */
function tlv(der: Uint8Array, at: number, limit: number): Tlv | undefined {
  if (at + 2 > limit) return undefined;
  const tag = der[at]!;
  let len = der[at + 1]!;
  let contentStart = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || contentStart + n > limit) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[contentStart + i]!;
    contentStart += n;
  }
  const end = contentStart + len;
  return end <= limit ? { tag, start: at, contentStart, end } : undefined;
}

/** The children of a constructed element. */
function children(der: Uint8Array, parent: Tlv): Tlv[] | undefined {
  const out: Tlv[] = [];
  for (let at = parent.contentStart; at < parent.end;) {
    const t = tlv(der, at, parent.end);
    if (!t) return undefined;
    out.push(t);
    at = t.end;
  }
  return out;
}

/** tbsCertificate fields by name, after the optional [0] version. */
function tbsFields(der: Uint8Array): Result<{ issuer: Tlv; subject: Tlv; spki: Tlv }, CaHashError> {
  const cert = tlv(der, 0, der.length);
  if (!cert || cert.tag !== 0x30) return fail("not a DER certificate (no outer SEQUENCE)");
  const tbs = children(der, cert)?.[0];
  if (!tbs || tbs.tag !== 0x30) return fail("certificate has no tbsCertificate");
  const f = children(der, tbs);
  if (!f) return fail("tbsCertificate is malformed");
  const rest = f[0]?.tag === 0xa0 ? f.slice(1) : f;
  // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
  const [, , issuer, , subject, spki] = rest;
  if (!issuer || !subject || !spki || spki.tag !== 0x30) {
    return fail("tbsCertificate has no subjectPublicKeyInfo");
  }
  return ok({ issuer, subject, spki });
}

/** The DER SubjectPublicKeyInfo (tag and length included) of a DER certificate. */
export function subjectPublicKeyInfo(der: Uint8Array): Result<Uint8Array, CaHashError> {
  const f = tbsFields(der);
  return f.ok ? ok(der.slice(f.value.spki.start, f.value.spki.end)) : f;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * kubeadm's `--discovery-token-ca-cert-hash` for the first certificate of a PEM text:
 * `sha256:` + lower-case hex SHA-256 of its DER SubjectPublicKeyInfo.
 */
export function caCertHash(pem: string): Result<string, CaHashError> {
  const certs = pemCertificates(pem);
  if (!certs.ok) return certs;
  const first = certs.value[0];
  if (!first) return fail("no CERTIFICATE block in the CA PEM");
  const spki = subjectPublicKeyInfo(first);
  return spki.ok ? ok(`sha256:${sha256Hex(spki.value)}`) : spki;
}

/**
 * The CA hash in a k3s secure token (`K10<hash>::…`), given the exact bytes the server serves
 * at `/cacerts`: SHA-256 of those bytes when they hold one certificate, else of the DER of the
 * self-signed root in the bundle. Re-encoding the PEM changes the hash, so pass the bytes as
 * served.
 */
export function k3sCaHash(cacerts: Uint8Array): Result<string, CaHashError> {
  const certs = pemCertificates(new TextDecoder().decode(cacerts));
  if (!certs.ok) return certs;
  if (certs.value.length === 0) return fail("no CERTIFICATE block in /cacerts");
  if (certs.value.length === 1) return ok(sha256Hex(cacerts));
  for (const der of certs.value) {
    const f = tbsFields(der);
    if (!f.ok) return f;
    const issuer = der.subarray(f.value.issuer.start, f.value.issuer.end);
    const subject = der.subarray(f.value.subject.start, f.value.subject.end);
    if (issuer.length === subject.length && issuer.every((b, i) => b === subject[i])) {
      return ok(sha256Hex(der));
    }
  }
  return fail("the /cacerts bundle holds several certificates but no self-signed root");
}

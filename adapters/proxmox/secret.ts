/**
 * Reads the PVE API token secret from where the Provider says it lives (a file, an environment
 * variable or a Kubernetes Secret) and keeps it out of every message: errors name the source,
 * never the value, and `redact` scrubs it from any text that might have picked it up.
 */
import type { SecretSource } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";

/** Reads one key of a Kubernetes Secret (injected so this module needs no Kubernetes client). */
export type KubeSecretReader = (
  ref: { namespace: string; name: string; key: string },
) => Promise<string | undefined>;

export type SecretDeps = {
  readTextFile?: (path: string) => Promise<string>;
  getEnv?: (name: string) => string | undefined;
  readKubeSecret?: KubeSecretReader;
};

export type SecretError = { kind: "SecretUnavailable"; source: string; message: string };

/**
 * Thrown by a reader whose message is safe to show (it names the source and what to fix, never
 * a value), so readSecret keeps it instead of reducing the error to its class.
 */
export class SecretReadError extends Error {
  override name = "SecretReadError";
}

/** Where a secret comes from, in words safe to log. */
export function describeSecretSource(src: SecretSource): string {
  if ("file" in src) return `file ${src.file}`;
  if ("env" in src) return `environment variable ${src.env}`;
  return `Kubernetes Secret ${src.secret.namespace}/${src.secret.name} key ${src.secret.key}`;
}

/** Resolves the secret; trailing whitespace (a file's newline) is dropped. */
export async function readSecret(
  src: SecretSource,
  deps: SecretDeps = {},
): Promise<Result<string, SecretError>> {
  const source = describeSecretSource(src);
  const fail = (why: string) =>
    err<SecretError>({ kind: "SecretUnavailable", source, message: `${source}: ${why}` });
  let value: string | undefined;
  try {
    if ("file" in src) {
      value = await (deps.readTextFile ?? Deno.readTextFile)(src.file);
    } else if ("env" in src) {
      value = (deps.getEnv ?? ((n: string) => Deno.env.get(n)))(src.env);
    } else {
      if (!deps.readKubeSecret) return fail("no Kubernetes Secret reader was configured");
      value = await deps.readKubeSecret(src.secret);
    }
  } catch (e) {
    if (e instanceof SecretReadError) return fail(e.message);
    // The error of a read may quote content in odd cases; keep only its class and code.
    const code = (e as { code?: string })?.code;
    return fail(
      `cannot be read (${e instanceof Error ? e.name : "error"}${code ? ` ${code}` : ""})`,
    );
  }
  if (value === undefined) return fail("is not set");
  const trimmed = value.trim();
  if (trimmed === "") return fail("is empty");
  return ok(trimmed);
}

/** Replaces every occurrence of the secret in `text`; used on anything that reaches a log. */
export function redact(text: string, secret: string): string {
  if (secret.length < 4) return text;
  return text.split(secret).join("[redacted]");
}

/**
 * Where a Kubernetes connection comes from: kubeconfig YAML (current context, files relative
 * to the kubeconfig) or the pod's service account, turned into the plain RestConfig that
 * rest.ts sends requests with, and the KubeClient factories built on them.
 *
 * Kept apart from rest.ts and client.ts because it loads `yaml`: a thread that is handed a
 * RestConfig (the daemon's front door) makes its client without loading a YAML parser.
 *
 * May import: core/, adapters/kubernetes/.
 */
import { parse } from "yaml";
import { err, ok, type Result } from "../../core/result.ts";
import { KubeClient } from "./client.ts";
import type { RestConfig } from "./rest.ts";

type Named<T> = { name?: string } & T;
type KubeconfigDoc = {
  "current-context"?: string;
  clusters?: Named<{ cluster?: Record<string, unknown> }>[];
  users?: Named<{ user?: Record<string, unknown> }>[];
  contexts?: Named<{ context?: { cluster?: string; user?: string; namespace?: string } }>[];
};

/** Where the kubelet mounts the pod's service account token, CA and namespace. */
const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * The service account folder: `PROXSCALE_SERVICE_ACCOUNT_DIR` when set, else the kubelet's mount
 * point. The override exists so the daemon can be started exactly as in a pod (in-cluster
 * config, KUBERNETES_SERVICE_HOST/PORT) from a test or a host without writing to /var/run; it
 * only moves where the same three files are read from.
 */
export function serviceAccountDir(): string {
  return Deno.env.get("PROXSCALE_SERVICE_ACCOUNT_DIR") || SA_DIR;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function b64(s: string): string {
  return new TextDecoder().decode(
    Uint8Array.from(atob(s.replace(/\s+/g, "")), (c) => c.charCodeAt(0)),
  );
}

/** `*-data` (base64) wins over the file path, as kubectl does. */
function material(
  o: Record<string, unknown>,
  key: string,
  baseDir: string,
): Result<string | undefined, string> {
  const data = str(o[`${key}-data`]);
  if (data) return ok(b64(data));
  const file = str(o[key]);
  if (!file) return ok(undefined);
  const path = file.startsWith("/") ? file : `${baseDir}/${file}`;
  try {
    return ok(Deno.readTextFileSync(path));
  } catch (e) {
    return err(`cannot read ${key} ${path}: ${e instanceof Error ? e.message : e}`);
  }
}

/**
 * Parses kubeconfig YAML (current context, or `context` when given). Relative file paths are
 * resolved against `baseDir` (the kubeconfig's folder).
 */
export function parseKubeconfig(
  text: string,
  opts: { context?: string; baseDir?: string } = {},
): Result<RestConfig, string> {
  let doc: KubeconfigDoc;
  try {
    doc = (parse(text) ?? {}) as KubeconfigDoc;
  } catch (e) {
    return err(`kubeconfig is not YAML: ${e instanceof Error ? e.message : e}`);
  }
  const baseDir = opts.baseDir ?? Deno.cwd();
  const ctxName = opts.context ?? doc["current-context"];
  const ctx = (doc.contexts ?? []).find((c) => c.name === ctxName)?.context;
  if (!ctx) return err(`kubeconfig has no context ${JSON.stringify(ctxName ?? "")}`);
  const cluster = (doc.clusters ?? []).find((c) => c.name === ctx.cluster)?.cluster;
  const server = str(cluster?.server);
  if (!cluster || !server) return err(`kubeconfig cluster ${ctx.cluster} has no server`);
  const user = (doc.users ?? []).find((u) => u.name === ctx.user)?.user ?? {};
  const ca = material(cluster, "certificate-authority", baseDir);
  const cert = material(user, "client-certificate", baseDir);
  const key = material(user, "client-key", baseDir);
  for (const r of [ca, cert, key]) if (!r.ok) return r;
  const out: RestConfig = {
    server: server.replace(/\/+$/, ""),
    caCerts: ca.ok && ca.value ? [ca.value] : [],
    insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
    namespace: ctx.namespace ?? "default",
  };
  if (cert.ok && cert.value) out.clientCertPem = cert.value;
  if (key.ok && key.value) out.clientKeyPem = key.value;
  const token = str(user.token);
  if (token) out.token = token;
  const tokenFile = str(user.tokenFile);
  if (tokenFile) out.tokenFile = tokenFile.startsWith("/") ? tokenFile : `${baseDir}/${tokenFile}`;
  const username = str(user.username), password = str(user.password);
  if (username && password) out.basic = { username, password };
  if (user.exec || user["auth-provider"]) out.pluginKubeconfig = text;
  return ok(out);
}

/** The pod's service account: KUBERNETES_SERVICE_HOST/PORT, its token file and CA. */
export function inClusterConfig(): Result<RestConfig, string> {
  const host = Deno.env.get("KUBERNETES_SERVICE_HOST");
  const port = Deno.env.get("KUBERNETES_SERVICE_PORT") ?? "443";
  if (!host) return err("KUBERNETES_SERVICE_HOST is not set: not running in a pod");
  const dir = serviceAccountDir();
  try {
    const ca = Deno.readTextFileSync(`${dir}/ca.crt`);
    let namespace = "default";
    try {
      namespace = Deno.readTextFileSync(`${dir}/namespace`).trim() || namespace;
    } catch {
      // Older clusters do not mount it; "default" is what client-go assumes as well.
    }
    return ok({
      server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
      caCerts: [ca],
      tokenFile: `${dir}/token`,
      insecureSkipTlsVerify: false,
      namespace,
    });
  } catch (e) {
    return err(`service account files missing: ${e instanceof Error ? e.message : e}`);
  }
}

/** In-cluster when running in a pod, else the first file of $KUBECONFIG or ~/.kube/config. */
export function defaultConfig(): Result<RestConfig, string> {
  if (Deno.env.get("KUBERNETES_SERVICE_HOST")) return inClusterConfig();
  const path = Deno.env.get("KUBECONFIG")?.split(":").find((p) => p) ??
    `${Deno.env.get("HOME") ?? ""}/.kube/config`;
  try {
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : Deno.cwd();
    return parseKubeconfig(Deno.readTextFileSync(path), { baseDir: dir });
  } catch (e) {
    return err(`cannot read kubeconfig ${path}: ${e instanceof Error ? e.message : e}`);
  }
}

/** A client from kubeconfig YAML text (tests, `--kubeconfig`); throws on one it cannot use. */
export function kubeClientFromKubeconfig(text: string): KubeClient {
  const r = parseKubeconfig(text);
  if (!r.ok) throw new Error(r.error);
  return new KubeClient(r.value);
}

/** In-cluster service account, else $KUBECONFIG / ~/.kube/config; throws when neither works. */
export function kubeClientFromDefault(): KubeClient {
  const r = defaultConfig();
  if (!r.ok) throw new Error(r.error);
  return new KubeClient(r.value);
}

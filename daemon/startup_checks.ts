/**
 * What must hold before the daemon starts, each as a check that answers with the cause and the
 * fix in words: the cluster credentials are readable (CA, client key, token file), the proxscale
 * CRDs are installed, every Provider's PVE API answers, the bootstrap CA (for the kubeadm CA
 * hash) can be read, the HTTP port is free, and the route token file is readable.
 * `proxscale run` stops on the first failure with one log line; `proxscale diagnose` runs the
 * same checks so it fails where the daemon would.
 *
 * May import: core/, adapters/.
 */
import type { Config } from "../core/model.ts";
import { err, ok, type Result } from "../core/result.ts";
import type { RestConfig } from "../adapters/kubernetes/rest.ts";
import { defaultConfig, parseKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { describeKubeError, type KubeClient } from "../adapters/kubernetes/client.ts";
import { GROUP, KINDS, VERSION } from "../adapters/kubernetes/crds.ts";
import { connectPveClient } from "../adapters/proxmox/client.ts";
import type { SecretDeps } from "../adapters/proxmox/secret.ts";

/** A failed check: what is wrong and what the operator does about it. */
export type StartupProblem = { check: string; cause: string; fix: string };

/** The single line a failed start logs: `cannot start: <cause>; fix: <fix>`. */
export function startupLine(p: StartupProblem): string {
  return `cannot start: ${p.cause}; fix: ${p.fix}`;
}

/** Where the pod's service account CA sits; also the bootstrap CA's fallback. */
export const SERVICE_ACCOUNT_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

const problem = (check: string, cause: string, fix: string) => err({ check, cause, fix });

/**
 * The cluster connection from `--kubeconfig`, the pod's service account or $KUBECONFIG, with
 * its token file read once so an unreadable token fails here rather than on every request.
 */
export async function clusterCredentials(
  kubeconfigPath: string | undefined,
): Promise<Result<RestConfig, StartupProblem>> {
  let r: Result<RestConfig, string>;
  if (kubeconfigPath !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(kubeconfigPath);
    } catch (e) {
      return problem(
        "kubeconfig",
        `kubeconfig ${kubeconfigPath} cannot be read (${(e as Error).name})`,
        "pass --kubeconfig a readable file",
      );
    }
    const dir = kubeconfigPath.includes("/")
      ? kubeconfigPath.slice(0, kubeconfigPath.lastIndexOf("/")) || "/"
      : Deno.cwd();
    r = parseKubeconfig(text, { baseDir: dir });
  } else r = defaultConfig();
  if (!r.ok) {
    const inPod = Deno.env.get("KUBERNETES_SERVICE_HOST") !== undefined;
    return problem(
      "cluster credentials",
      `the cluster CA or credentials cannot be read: ${r.error}`,
      inPod
        ? "check the pod's service account (automountServiceAccountToken must not be false)"
        : "pass --kubeconfig with a readable CA and credentials, or set KUBECONFIG",
    );
  }
  if (r.value.tokenFile !== undefined) {
    try {
      const t = (await Deno.readTextFile(r.value.tokenFile)).trim();
      if (t === "") throw new Error("empty");
    } catch (e) {
      return problem(
        "cluster credentials",
        `the cluster token ${r.value.tokenFile} cannot be read (${(e as Error).name})`,
        "mount the service account token, or point tokenFile at a readable token",
      );
    }
  }
  return ok(r.value);
}

/** The proxscale CRDs answer a list (installed, and the account may read them). */
export async function crdsInstalled(kube: KubeClient): Promise<Result<void, StartupProblem>> {
  for (const k of KINDS) {
    const r = await kube.requestJson("GET", `/apis/${GROUP}/${VERSION}/${k.plural}`, {
      query: { limit: "1" },
    });
    if (r.ok) continue;
    const e = r.error;
    if (e.kind === "Status" && e.code === 404) {
      return problem(
        "crds",
        `the CustomResourceDefinition ${k.plural}.${GROUP} is not installed`,
        "kubectl apply -f deploy/crds/ (or install the Helm chart, which carries them)",
      );
    }
    if (e.kind === "Status" && (e.code === 401 || e.code === 403)) {
      return problem(
        "crds",
        `listing ${k.plural}.${GROUP} was refused: ${describeKubeError(e)}`,
        "apply the RBAC of deploy/proxscale.yaml and use its ServiceAccount",
      );
    }
    return problem(
      "crds",
      `the API server did not answer a list of ${k.plural}.${GROUP}: ${describeKubeError(e)}`,
      "check the API server address and the cluster CA in the kubeconfig",
    );
  }
  return ok(undefined);
}

/**
 * The leader Lease's namespace exists. A Lease cannot be created in a missing namespace, and a
 * daemon that can never lead would run half-alive (ready, never acting). Asked with a dry-run
 * create, which the ServiceAccount may do and which is the only call the API server answers
 * with "namespace not found" (a GET answers "lease not found" either way).
 */
export async function leaseNamespaceExists(
  kube: KubeClient,
  lease: { namespace: string; name: string },
): Promise<Result<void, StartupProblem>> {
  const r = await kube.requestJson(
    "POST",
    `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(lease.namespace)}/leases`,
    {
      query: { dryRun: "All" },
      body: {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: lease.name, namespace: lease.namespace },
        spec: {},
      },
    },
  );
  if (r.ok) return ok(undefined);
  const e = r.error;
  if (e.kind === "Status" && e.code === 409) return ok(undefined); // the Lease exists already
  if (e.kind === "Status" && e.code === 404) {
    return problem(
      "lease",
      `namespace ${lease.namespace}, where the leader Lease ${lease.name} lives, does not exist`,
      `kubectl create namespace ${lease.namespace} (or apply deploy/proxscale.yaml), ` +
        "or pass --lease-namespace",
    );
  }
  if (e.kind === "Status" && (e.code === 401 || e.code === 403)) {
    return problem(
      "lease",
      `creating the Lease ${lease.namespace}/${lease.name} was refused: ${describeKubeError(e)}`,
      "apply the RBAC of deploy/proxscale.yaml (its Role grants leases in that namespace)",
    );
  }
  return ok(undefined); // other answers are the lease loop's to retry and report
}

/** Each Provider's PVE API answers `GET /version` with its token. */
export async function pveReachable(
  config: Config,
  deps: SecretDeps,
): Promise<Result<void, StartupProblem>> {
  for (const p of config.providers) {
    if (p.kind === "redfish") continue; // bare metal: no PVE API (its BMCs are read per call)
    const c = await connectPveClient(p, {
      ...deps,
      timeoutMs: 10_000,
      retry: { attempts: 2, baseMs: 250, maxMs: 1000 },
    });
    if (!c.ok) {
      return problem("pve", `Provider ${p.name}: ${c.error.message}`, "fix the Provider's token");
    }
    try {
      const v = await c.value.version();
      if (!v.ok) {
        const auth = v.error.status === 401 || v.error.status === 403;
        return problem(
          "pve",
          `Provider ${p.name}: the PVE API at ${p.endpoint} ${
            auth ? "refused the token" : "is unreachable"
          } (${v.error.message})`,
          auth
            ? "check tokenId and the token secret (pveum user token list)"
            : "check the endpoint, the network path to port 8006 and tls.fingerprint/caFile",
        );
      }
    } finally {
      c.value.close();
    }
  }
  return ok(undefined);
}

/**
 * Every MachineTemplate that seeds a join (bootstrap mode other than none) can read the cluster
 * CA it pins: its `caCertHashFrom` file, else the CA of the cluster connection, else the
 * service account CA. `connection` false (no cluster connection known, e.g. diagnose without a
 * kubeconfig) checks only the `caCertHashFrom` files.
 */
export async function bootstrapCaReadable(
  config: Config,
  clusterCa: string | undefined,
  connection = true,
): Promise<Result<void, StartupProblem>> {
  for (const t of config.machineTemplates) {
    if (t.bootstrap.mode === "none") continue;
    const fallback = clusterCa || !connection ? undefined : SERVICE_ACCOUNT_CA;
    const file = t.bootstrap.caCertHashFrom ?? fallback;
    if (file === undefined) continue;
    try {
      await Deno.readTextFile(file);
    } catch (e) {
      return problem(
        "bootstrap ca",
        `MachineTemplate ${t.name}: the cluster CA ${file} cannot be read (${(e as Error).name})`,
        "set bootstrap.caCertHashFrom to a readable copy of the cluster CA certificate",
      );
    }
  }
  return ok(undefined);
}

/** The HTTP port can be bound (checked by binding it and letting go). */
export function httpPortFree(port: number, hostname = "0.0.0.0"): Result<void, StartupProblem> {
  if (port === 0) return ok(undefined);
  try {
    Deno.listen({ port, hostname }).close();
    return ok(undefined);
  } catch (e) {
    return problem("http port", httpPortCause(port, e), httpPortFix);
  }
}

/** Cause of a failed bind of the HTTP port, in words. */
export function httpPortCause(port: number, e: unknown): string {
  const name = e instanceof Error ? e.name : "Error";
  return name === "AddrInUse"
    ? `HTTP port ${port} is already in use`
    : `HTTP port ${port} cannot be opened (${name})`;
}

/** What to do about it. */
export const httpPortFix =
  "stop the other process on that port, or pass --http-port with a free port";

/**
 * The bearer token of the status and switch routes, from `--http-token-file` (trimmed; the
 * file may be a mounted Secret). None without the option; an unreadable or empty file, or one
 * holding more than one word, stops the start.
 */
export async function readRouteToken(
  file: string | undefined,
): Promise<Result<string | undefined, StartupProblem>> {
  if (file === undefined) return ok(undefined);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    return problem(
      "http token",
      `--http-token-file ${file} cannot be read (${e instanceof Error ? e.name : "Error"})`,
      "give a readable file holding the bearer token",
    );
  }
  const token = text.trim();
  if (token === "" || /\s/.test(token)) {
    return problem(
      "http token",
      `--http-token-file ${file} ${token === "" ? "is empty" : "holds whitespace"}`,
      "put one token (no spaces) in the file",
    );
  }
  return ok(token);
}

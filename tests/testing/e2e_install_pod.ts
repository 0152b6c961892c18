/**
 * Starting the daemon as the kubelet starts the Deployment's container: the Deployment and its
 * pods read back from the API server, the container's args with `$(VAR)` expanded and its env
 * with downward-API fieldRefs resolved from the pod object, a token of the pod's
 * ServiceAccount (TokenRequest through kubectl) with the cluster CA and namespace in a
 * service-account folder (PROXSCALE_SERVICE_ACCOUNT_DIR, the daemon's override of the
 * kubelet's mount point), and KUBERNETES_SERVICE_HOST/PORT pointing at the API server. Also the
 * install's configuration: the PVE token Secret and the fake's config migrated to custom
 * resources.
 *
 * May import: adapters/, tests/.
 */
import assert from "node:assert/strict";
import {
  type FakeClusterProc,
  freePort,
  kubectl,
  type Replica,
  spawnProxscale,
  tunedConfig,
  withOption,
} from "./e2e_install.ts";

type EnvVar = {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
};
/** The part of a Deployment's container the test starts. */
export type Container = { args: string[]; env?: EnvVar[] };

/**
 * The container's environment as the kubelet builds it for `pod`: literal values (with
 * `$(VAR)` of earlier variables expanded) and downward-API fieldRefs read from the pod object.
 */
export function containerEnv(c: Container, pod: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = expand(e.value, env);
    else if (e.valueFrom?.fieldRef) {
      const v = e.valueFrom.fieldRef.fieldPath.split(".").reduce<unknown>(
        (o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined),
        pod,
      );
      assert.equal(typeof v, "string", `fieldRef ${e.valueFrom.fieldRef.fieldPath}`);
      env[e.name] = v as string;
    } else assert.fail(`env ${e.name}: unsupported source ${JSON.stringify(e.valueFrom)}`);
  }
  return env;
}

/** `$(VAR)` as the kubelet expands it in args; an unknown one stays as written. */
export function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string) => env[v] ?? m);
}

type Obj = Record<string, unknown> & { metadata: { name: string; namespace?: string } };
type Deployment = Obj & {
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: {
      spec: { serviceAccountName?: string; containers: (Container & { command?: string[] })[] };
    };
  };
};

async function getJson<T>(fc: FakeClusterProc, args: string[]): Promise<T> {
  const r = await kubectl(fc.env, [...args, "-o", "json"]);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** The Deployment as the API server holds it, and its pods (made by the cluster's controllers). */
export async function deploymentAndPods(
  fc: FakeClusterProc,
  namespace: string,
  name: string,
  replicas: number,
): Promise<{ deployment: Deployment; pods: Obj[] }> {
  const deployment = await getJson<Deployment>(fc, ["-n", namespace, "get", "deployment", name]);
  const selector = Object.entries(deployment.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`)
    .join(",");
  for (let i = 0; i < 120; i++) {
    const list = await getJson<{ items: Obj[] }>(fc, [
      "-n",
      namespace,
      "get",
      "pods",
      "-l",
      selector,
    ]);
    if (list.items.length === replicas) {
      return {
        deployment,
        pods: list.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)),
      };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the Deployment ${namespace}/${name} never had ${replicas} pods`);
}

/**
 * Starts the container of `deployment` as the kubelet would for `pod`: the image's entrypoint
 * is the binary (the container sets no command), so the process is `proxscale ARGS`. Each
 * replica gets its own HTTP port through the same `--http-port` option (here every pod shares
 * one network namespace, the host's).
 */
export async function startPodReplica(
  fc: FakeClusterProc,
  deployment: Deployment,
  pod: Obj,
): Promise<Replica> {
  const spec = deployment.spec.template.spec;
  const c = spec.containers[0]!;
  assert.equal(c.command, undefined, "the image's entrypoint starts proxscale");
  const env = containerEnv(c, pod);
  const namespace = pod.metadata.namespace!;
  const sa = spec.serviceAccountName ?? "default";
  const token = await kubectl(fc.env, [
    "-n",
    namespace,
    "create",
    "token",
    sa,
    "--bound-object-kind=Pod",
    `--bound-object-name=${pod.metadata.name}`,
  ]);
  assert.equal(token.code, 0, token.stderr);
  const saDir = `${fc.dir}/pods/${pod.metadata.name}/serviceaccount`;
  await Deno.mkdir(saDir, { recursive: true });
  await Deno.writeTextFile(`${saDir}/token`, token.stdout.trim());
  await Deno.writeTextFile(`${saDir}/ca.crt`, fc.caPem);
  await Deno.writeTextFile(`${saDir}/namespace`, namespace);
  const port = freePort();
  const argv = withOption(c.args.map((a) => expand(a, env)), "http-port", String(port));
  const proc = spawnProxscale(
    pod.metadata.name,
    argv,
    {
      ...env,
      KUBERNETES_SERVICE_HOST: fc.apiHost,
      KUBERNETES_SERVICE_PORT: String(fc.apiPort),
      PROXSCALE_SERVICE_ACCOUNT_DIR: saDir,
    },
    `${fc.dir}/pods/${pod.metadata.name}`,
  );
  return { proc, port, identity: env.POD_NAME ?? pod.metadata.name };
}

/**
 * The install's configuration in `dir`: `pve-token` (the Secret's content) and `config.yaml`,
 * the config fake-cluster wrote, tuned (see tunedConfig) with the Provider reading the token
 * from the Secret `proxscale-pve-token` through the API (no file mount outside a real pod) and
 * the node bootstrap pinning the CA of the pod's service account (no caCertHashFrom, a path on
 * the test's host).
 */
export async function writeInstallInputs(fc: FakeClusterProc, dir: string): Promise<void> {
  await Deno.copyFile(`${fc.configFile}.pve-token`, `${dir}/pve-token`);
  const config = tunedConfig(await Deno.readTextFile(fc.configFile), (d) => {
    for (const p of d.providers) {
      p.spec.tokenSecret = {
        secret: { namespace: "proxscale-system", name: "proxscale-pve-token", key: "token" },
      };
    }
    for (const t of d.machineTemplates) delete t.spec.bootstrap.caCertHashFrom;
  });
  await Deno.writeTextFile(`${dir}/config.yaml`, config);
}

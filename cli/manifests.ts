/**
 * `proxscale manifests`: prints the in-cluster install (Namespace, RBAC, Deployment, PDB,
 * metrics Service, NetworkPolicy) as multi-document YAML, so it can be piped to
 * `kubectl apply -f -` or checked in tests without Helm. deploy/proxscale.yaml is its output
 * with the defaults.
 */
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { parseArgs } from "node:util";
import type { Command } from "./command.ts";
import {
  DEFAULT_OPTIONS,
  type DeployOptions,
  parseEgressTarget,
} from "../adapters/deploy/options.ts";
import { GENERATED_HEADER, renderObjects, toYaml } from "../adapters/deploy/manifests.ts";
import { renderCrds } from "../adapters/kubernetes/crds.ts";

const USAGE = "proxscale manifests [--namespace NS] [--replicas N] [--image IMAGE] " +
  "[--metrics-port PORT] [--pve-endpoint URL|CIDR]... [--api-server IP|CIDR[:PORT]]... " +
  "[--egress CIDR:PORT]... [--pve-token-secret NAME] [--with-crds]";

const HELP = `usage: ${USAGE}

Prints the Kubernetes manifests of an in-cluster install as multi-document YAML:
  kubectl apply -f deploy/crds/ && proxscale manifests --pve-endpoint https://10.0.0.11:8006 | kubectl apply -f -

  --namespace NS           namespace of the daemon, its Lease and Role (default ${DEFAULT_OPTIONS.namespace})
  --replicas N             replicas; one leads, the others stand by (default ${DEFAULT_OPTIONS.replicas})
  --image IMAGE            container image (default ${DEFAULT_OPTIONS.image})
  --metrics-port PORT      port of /metrics, /healthz, /readyz (default ${DEFAULT_OPTIONS.metricsPort})
  --pve-endpoint URL|CIDR  PVE API address the NetworkPolicy lets through (repeatable; an IP,
                           not a name; port 8006 unless given). Without it: any address on 8006
  --api-server IP|CIDR     control-plane address(es) (port 6443 unless given). Without it: any
                           address on 443 and 6443
  --egress CIDR:PORT       more egress, e.g. Redis or an OTLP collector (repeatable)
  --pve-token-secret NAME  Secret (key "token") mounted at /etc/proxscale/secrets (default ${DEFAULT_OPTIONS.pveTokenSecret})
  --with-crds              print the CustomResourceDefinitions first`;

function positiveInt(s: string, min: number, max: number): number | undefined {
  const n = Number(s);
  return /^\d+$/.test(s) && n >= min && n <= max ? n : undefined;
}

/** Builds the options from the command line, or says what is wrong. */
export function parseManifestArgs(args: string[]): { options: DeployOptions; crds: boolean } | {
  error: string;
} | { help: true } {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        namespace: { type: "string" },
        replicas: { type: "string" },
        image: { type: "string" },
        "metrics-port": { type: "string" },
        "pve-endpoint": { type: "string", multiple: true },
        "api-server": { type: "string", multiple: true },
        egress: { type: "string", multiple: true },
        "pve-token-secret": { type: "string" },
        "with-crds": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    return { error: (e as Error).message };
  }
  if (values.help) return { help: true };
  const o: DeployOptions = { ...DEFAULT_OPTIONS };
  if (values.namespace !== undefined) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(values.namespace)) {
      return { error: `--namespace "${values.namespace}" is not a DNS label` };
    }
    o.namespace = values.namespace;
  }
  if (values.replicas !== undefined) {
    const n = positiveInt(values.replicas, 1, 10);
    if (n === undefined) return { error: "--replicas must be an integer from 1 to 10" };
    o.replicas = n;
  }
  if (values.image !== undefined) {
    if (!values.image || /\s/.test(values.image)) return { error: "--image must not be empty" };
    o.image = values.image;
  }
  if (values["metrics-port"] !== undefined) {
    const n = positiveInt(values["metrics-port"], 1024, 65535);
    if (n === undefined) {
      return { error: "--metrics-port must be 1024-65535 (the pod is not root)" };
    }
    o.metricsPort = n;
  }
  if (values["pve-token-secret"] !== undefined) o.pveTokenSecret = values["pve-token-secret"];
  const targets = (flag: string, list: string[] | undefined, port: number) => {
    const out = [];
    for (const t of list ?? []) {
      const r = parseEgressTarget(t, port);
      if (!r.ok) return `--${flag} ${r.error}`;
      out.push(r.value);
    }
    return out;
  };
  const pve = targets("pve-endpoint", values["pve-endpoint"], 8006);
  const api = targets("api-server", values["api-server"], 6443);
  const extra = targets("egress", values.egress, 0);
  for (const t of [pve, api, extra]) if (typeof t === "string") return { error: t };
  o.pveEndpoints = pve as DeployOptions["pveEndpoints"];
  o.apiServer = api as DeployOptions["apiServer"];
  o.extraEgress = extra as DeployOptions["extraEgress"];
  return { options: o, crds: values["with-crds"] ?? false };
}

export const manifestsCommand: Command = {
  name: "manifests",
  summary: COMMAND_SUMMARIES.manifests,
  usage: USAGE,
  run(args, io) {
    const parsed = parseManifestArgs(args);
    if ("help" in parsed) {
      io.out(HELP);
      return Promise.resolve(0);
    }
    if ("error" in parsed) {
      io.err(`proxscale manifests: ${parsed.error}\nusage: ${USAGE}`);
      return Promise.resolve(2);
    }
    const crds = parsed.crds ? Object.values(renderCrds()).join("---\n") + "---\n" : "";
    const text = crds + toYaml(renderObjects(parsed.options), crds ? "" : GENERATED_HEADER);
    io.out(text.replace(/\n$/, ""));
    return Promise.resolve(0);
  },
};

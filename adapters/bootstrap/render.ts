/**
 * What one new node receives through the NoCloud datasource: user-data from the
 * MachineTemplate's template, meta-data (instance-id, local-hostname) and a network-config v2
 * that matches NICs by MAC. Everything is computed from plain inputs (template, pool, the
 * claim's identity, cluster facts, the claim's token), so the daemon, the preview command and
 * tests render exactly the same bytes.
 */
import { stringify } from "yaml";
import { MiB } from "../../core/quantity.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { type BootstrapToken, formatBootstrapToken, rfc3339 } from "../../core/bootstrap_token.ts";
import type { MachineTemplate, NetworkSpec, NodePool, Shape, Taint } from "../../core/model.ts";
import {
  HOST_LABEL_KEY,
  NODECLAIM_LABEL_KEY,
  NODEPOOL_LABEL_KEY,
  UNREGISTERED_TAINT_KEY,
} from "../../core/labels.ts";
import { SHIPPED_TEMPLATES } from "../../templates/shipped.ts";
import { buildNoCloudIso, type IsoFile } from "./iso9660.ts";
import { providerIdFor } from "../../core/lifecycle_nodes.ts";
import { splitNodeLabels } from "./kubelet_labels.ts";
import { withTimeSlicing } from "./gpu_sharing.ts";
import {
  checkTemplateVariables,
  parseTemplate,
  renderTemplate,
  type TemplateError,
  type TemplateVars,
} from "./template.ts";

/** cloud-init parses with PyYAML (YAML 1.1): a MAC like 10:20:30:40:50:00 must be quoted. */
const YAML_11 = { version: "1.1" } as const;

/** The startup taint every proxscale node registers with; only proxscale removes it, once it has
 * checked and labelled the Node. */
export const UNREGISTERED_TAINT: Taint = { key: UNREGISTERED_TAINT_KEY, effect: "NoExecute" };

/** Who the new node is, fixed before its VM exists. */
export type ClaimIdentity = {
  /** NodeClaim name = node name = hostname = VM name. */
  name: string;
  vmid: number;
  /** Provider (PVE cluster) name: the providerID's region. */
  provider: string;
  /** Proxmox node the VM runs on. */
  host: string;
  /** topology.kubernetes.io/zone of that host. */
  zone: string;
  /** MAC per network slot, e.g. { net0: "02:00:00:23:28:00" }. */
  macs: Record<string, string>;
  /** SMBIOS UUID, when one is set at create. */
  uuid?: string;
  /** The providerID the provider names the machine by (absent: proxmox://<provider>/<vmid>). */
  providerID?: string;
  /** The VM's size; defaults to the template's cheapest shape. */
  shape?: Shape;
};

/** What the node needs to know about the cluster it joins. */
export type ClusterInfo = {
  /** API server as `host:port` or `https://host:port`. */
  server: string;
  caPEM?: string;
  /** kubeadm pin, `sha256:<hex>` (ca_hash.ts caCertHash). */
  caCertHash?: string;
  /** k3s token CA hash, hex (ca_hash.ts k3sCaHash); without it the k3s token is the short form. */
  k3sCaHash?: string;
  kubernetesVersion?: string;
};

/** The claim's own join credential. */
export type JoinInfo = { token: BootstrapToken; expiresAt: number };

/** Everything a render needs. `values` are the operator Secret's keys. */
export type SeedInput = {
  template: MachineTemplate;
  pool: NodePool;
  claim: ClaimIdentity;
  cluster: ClusterInfo;
  join: JoinInfo;
  values?: Record<string, string>;
};

/** The three NoCloud files, as text. */
export type NoCloudSeed = { userData: string; metaData: string; networkConfig: string };

/** Why a seed could not be rendered; `source` names the template for file:line:col output. */
export type SeedError =
  | { kind: "TemplateInvalid"; source: string; errors: TemplateError[] }
  | { kind: "NoTemplate"; message: string }
  | { kind: "NetworkInvalid"; message: string };

/** Where a MachineTemplate's user-data template comes from, and its text. */
export function userDataTemplate(
  t: MachineTemplate,
): Result<{ source: string; text: string }, SeedError> {
  const b = t.bootstrap;
  if (b.userData !== undefined) {
    return ok({ source: `machineTemplates/${t.name}/bootstrap.userData`, text: b.userData });
  }
  if (b.template !== undefined) {
    return ok({ source: `templates/${b.template}`, text: SHIPPED_TEMPLATES[b.template] });
  }
  return err({
    kind: "NoTemplate",
    message:
      `MachineTemplate "${t.name}" has bootstrap mode ${b.mode} but neither bootstrap.template (kubeadm, k3s, talos) nor bootstrap.userData`,
  });
}

/** Register-time taints: template's and pool's taints and startup taints, unregistered first. */
export function registrationTaints(t: MachineTemplate, pool: NodePool): Taint[] {
  const out: Taint[] = [];
  const seen = new Set<string>();
  for (
    const taint of [
      UNREGISTERED_TAINT,
      ...t.taints,
      ...pool.taints,
      ...t.startupTaints,
      ...pool.startupTaints,
    ]
  ) {
    const id = `${taint.key}:${taint.effect}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(taint.value ? { ...taint } : { key: taint.key, effect: taint.effect });
  }
  return out;
}

/** All labels the node should end up with; the kubelet sets the self-settable part
 * (kubelet_labels.ts), proxscale the rest. */
export function nodeLabels(
  t: MachineTemplate,
  pool: NodePool,
  claim: ClaimIdentity,
  shape?: Shape,
) {
  return {
    ...t.labels,
    ...pool.labels,
    [NODEPOOL_LABEL_KEY]: pool.name,
    [NODECLAIM_LABEL_KEY]: claim.name,
    [HOST_LABEL_KEY]: claim.host,
    "topology.kubernetes.io/region": claim.provider,
    "topology.kubernetes.io/zone": claim.zone,
    ...(shape ? { "node.kubernetes.io/instance-type": shape.name } : {}),
  };
}

/** `host:port` and `https://host:port` from either form. */
export function clusterEndpoints(server: string): { server: string; apiServerEndpoint: string } {
  const bare = server.replace(/^https:\/\//, "").replace(/\/+$/, "");
  return { server: `https://${bare}`, apiServerEndpoint: bare };
}

const taintText = (t: Taint) => `${t.key}${t.value ? "=" + t.value : ""}:${t.effect}`;

/** The template variables (template.ts, BOOTSTRAP_VARIABLES) for one claim. */
export function bootstrapVariables(input: SeedInput): TemplateVars {
  const { template, pool, claim, cluster, join } = input;
  const shape = claim.shape ?? template.shapes[0];
  const labels = splitNodeLabels(nodeLabels(template, pool, claim, shape)).selfSet;
  const taints = registrationTaints(template, pool);
  const token = formatBootstrapToken(join.token);
  const endpoints = clusterEndpoints(cluster.server);
  const node: TemplateVars = {
    name: claim.name,
    vmid: claim.vmid,
    instanceID: String(claim.vmid),
    providerID: claim.providerID ?? providerIdFor(claim.provider, claim.vmid),
    region: claim.provider,
    zone: claim.zone,
    host: claim.host,
    labels,
    labelsFlag: Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(","),
    labelsList: Object.entries(labels).map(([k, v]) => `${k}=${v}`),
    taints,
    taintsFlag: taints.map(taintText).join(","),
    taintsList: taints.map(taintText),
    interfaces: interfaces(template, claim).map((i) => ({
      name: i.slot,
      ...(i.mac !== undefined ? { mac: i.mac.toLowerCase() } : {}),
    })),
  };
  if (claim.uuid !== undefined) node.uuid = claim.uuid;
  const clusterVars: TemplateVars = { ...endpoints };
  if (cluster.caPEM !== undefined) clusterVars.caPEM = cluster.caPEM;
  if (cluster.caCertHash !== undefined) clusterVars.caCertHash = cluster.caCertHash;
  if (cluster.kubernetesVersion !== undefined) {
    clusterVars.kubernetesVersion = cluster.kubernetesVersion;
  }
  return {
    node,
    nodePool: pool.name,
    nodeClaim: claim.name,
    ...(shape
      ? { resources: { cpu: shape.cpu / 1000, memoryMiB: Math.floor(shape.memory / MiB) } }
      : {}),
    cluster: clusterVars,
    join: {
      token,
      tokenID: join.token.id,
      expiresAt: rfc3339(join.expiresAt),
      k3sToken: cluster.k3sCaHash ? `K10${cluster.k3sCaHash}::${token}` : token,
    },
    values: { ...(input.values ?? {}) },
  };
}

/** NICs in slot order, with the MAC the claim fixed for each. */
function interfaces(t: MachineTemplate, claim: ClaimIdentity) {
  const slots = new Set([...t.network.map((n) => n.slot), ...Object.keys(claim.macs)]);
  return [...slots]
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)))
    .map((slot) => ({
      slot,
      mac: claim.macs[slot],
      spec: t.network.find((n) => n.slot === slot),
    }));
}

/** Renders user-data, meta-data and network-config for one claim. */
export function renderNoCloudSeed(input: SeedInput): Result<NoCloudSeed, SeedError> {
  const source = userDataTemplate(input.template);
  if (!source.ok) return source;
  const parsed = parseTemplate(source.value.text);
  if (!parsed.ok) {
    return err({ kind: "TemplateInvalid", source: source.value.source, errors: parsed.error });
  }
  const unknown = checkTemplateVariables(parsed.value);
  if (unknown.length > 0) {
    return err({ kind: "TemplateInvalid", source: source.value.source, errors: unknown });
  }
  const userData = renderTemplate(parsed.value, bootstrapVariables(input));
  if (!userData.ok) {
    return err({ kind: "TemplateInvalid", source: source.value.source, errors: userData.error });
  }
  const networkConfig = renderNetworkConfig(input);
  if (!networkConfig.ok) return networkConfig;
  return ok({
    userData: withTimeSlicing(userData.value, input.template),
    metaData: renderMetaData(input.claim),
    networkConfig: networkConfig.value,
  });
}

/**
 * NoCloud meta-data: instance-id (the VMID; a new VM is a new instance) and local-hostname,
 * plus provider-id, region and zone for user-data that reads `ds.meta_data`
 * (cloud-init exposes unknown meta-data keys there).
 */
export function renderMetaData(claim: ClaimIdentity): string {
  return stringify({
    "instance-id": String(claim.vmid),
    "local-hostname": claim.name,
    "provider-id": claim.providerID ?? providerIdFor(claim.provider, claim.vmid),
    region: claim.provider,
    zone: claim.zone,
  }, YAML_11);
}

/**
 * network-config version 2 without a top-level `network:` key (Talos rejects the wrapped
 * form): one ethernet per NIC, matched by MAC, addressed from the slot's PVE-style ipconfig
 * (`ip=dhcp`, `ip=10.0.0.5/24,gw=10.0.0.1`, `ip6=auto|dhcp|<cidr>,gw6=…`; default DHCPv4).
 * Without any NIC (a clone keeps its template's), every `e*` interface takes DHCP.
 */
export function renderNetworkConfig(input: SeedInput): Result<string, SeedError> {
  const { template, claim } = input;
  const ethernets: Record<string, Record<string, unknown>> = {};
  for (const nic of interfaces(template, claim)) {
    if (nic.mac === undefined) {
      return err({
        kind: "NetworkInvalid",
        message: `${nic.slot} of MachineTemplate "${template.name}" has no MAC for ${claim.name}`,
      });
    }
    const addressing = ipconfig(nic.spec);
    if (!addressing.ok) return addressing;
    ethernets[nic.slot] = {
      match: { macaddress: nic.mac.toLowerCase() },
      ...addressing.value,
      ...nameservers(template),
      ...(nic.spec?.mtu !== undefined ? { mtu: nic.spec.mtu } : {}),
    };
  }
  if (Object.keys(ethernets).length === 0) {
    ethernets.all = { match: { name: "e*" }, dhcp4: true, ...nameservers(template) };
  }
  return ok(stringify({ version: 2, ethernets }, YAML_11));
}

function nameservers(t: MachineTemplate): Record<string, unknown> {
  const { nameserver, searchdomain } = t.bootstrap;
  if (nameserver === undefined && searchdomain === undefined) return {};
  return {
    nameservers: {
      ...(nameserver ? { addresses: nameserver.split(/[\s,]+/).filter(Boolean) } : {}),
      ...(searchdomain ? { search: searchdomain.split(/[\s,]+/).filter(Boolean) } : {}),
    },
  };
}

function ipconfig(spec: NetworkSpec | undefined): Result<Record<string, unknown>, SeedError> {
  const text = spec?.ipconfig ?? "ip=dhcp";
  const out: Record<string, unknown> = {};
  const addresses: string[] = [];
  const routes: { to: string; via: string }[] = [];
  for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [k, v = ""] = part.split("=", 2) as [string, string?];
    if (k === "ip" && v === "dhcp") out.dhcp4 = true;
    else if (k === "ip6" && v === "dhcp") out.dhcp6 = true;
    else if (k === "ip6" && v === "auto") out["accept-ra"] = true;
    else if ((k === "ip" || k === "ip6") && v.includes("/")) addresses.push(v);
    else if (k === "gw" && v) routes.push({ to: "0.0.0.0/0", via: v });
    else if (k === "gw6" && v) routes.push({ to: "::/0", via: v });
    else {
      return err({
        kind: "NetworkInvalid",
        message: `${
          spec?.slot ?? "net"
        }: ipconfig "${text}" has "${part}", expected ip=dhcp|<cidr>, gw=<ip>, ip6=dhcp|auto|<cidr>, gw6=<ip>`,
      });
    }
  }
  if (addresses.length > 0) out.addresses = addresses;
  if (routes.length > 0) out.routes = routes;
  return ok(out);
}

/** The seed as ISO files, in the names the NoCloud datasource reads. */
export function noCloudIsoFiles(seed: NoCloudSeed): IsoFile[] {
  const enc = new TextEncoder();
  return [
    { name: "user-data", data: enc.encode(seed.userData) },
    { name: "meta-data", data: enc.encode(seed.metaData) },
    { name: "network-config", data: enc.encode(seed.networkConfig) },
  ];
}

/** The seed ISO to upload (label `cidata`). */
export function buildSeedIso(seed: NoCloudSeed, mtimeMs?: number): Uint8Array {
  return buildNoCloudIso(
    noCloudIsoFiles(seed),
    "cidata",
    mtimeMs === undefined ? {} : { mtimeMs },
  );
}

/** A secret value and the label it is shown as once redacted. */
export type SecretText = { label: string; value: string };

/**
 * The secrets a seed carries, for redaction: the whole token, its secret half, the k3s form,
 * each operator value, and each one's base64 form (templates may `b64` them).
 */
export function seedSecrets(input: SeedInput): SecretText[] {
  const token = formatBootstrapToken(input.join.token);
  const base: SecretText[] = [
    { label: "join-token", value: token },
    { label: "join-token-secret", value: input.join.token.secret },
    ...(input.cluster.k3sCaHash
      ? [{ label: "k3s-token", value: `K10${input.cluster.k3sCaHash}::${token}` }]
      : []),
    ...Object.entries(input.values ?? {}).map(([k, v]) => ({ label: `values.${k}`, value: v })),
  ];
  const b64 = base.map((s) => ({ label: `${s.label}:b64`, value: utf8Base64(s.value) }));
  return [...base, ...b64];
}

/**
 * Replaces every occurrence of each secret with `<redacted:label>`, longest first so a whole
 * token is named as such rather than as its secret half. For previews and logs only; the
 * seed itself must carry the real values.
 */
export function redact(text: string, secrets: readonly SecretText[]): string {
  const sorted = secrets.filter((s) => s.value.length > 0).sort((a, b) =>
    b.value.length - a.value.length
  );
  let out = text;
  for (const s of sorted) out = out.split(s.value).join(`<redacted:${s.label}>`);
  return out;
}

function utf8Base64(text: string): string {
  let bin = "";
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * `proxscale fake-cluster`: a fake Kubernetes-on-Proxmox cluster to point kubectl and
 * `proxscale run` at. Starts the fake PVE, the fake API server and the glue that makes them a
 * cluster (scheduler, controllers, kubelets bound to the fake PVE's VMs), writes an admin
 * kubeconfig, and with --write-config a proxscale configuration wired to that PVE. Serves until
 * SIGINT or SIGTERM.
 */
import { type HostBmc, startHostBmc } from "../fakes/cluster/host_bmc.ts";
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { type Command, type Io, stopped } from "./command.ts";
import { type FakeCluster, startFakeCluster } from "../fakes/cluster/start.ts";
import { type FaultPlan, parseFaultPlan } from "../fakes/cluster/fault_plan.ts";
import { seedPendingPods } from "../fakes/cluster/backlog.ts";
import { gpuSeed, pciState } from "../fakes/fake_pve/pci_inventory.ts";
import type { FakeRedfish } from "../fakes/fake_redfish/server.ts";
import { issueCa, issueLeaf, serverSans } from "../fakes/tls/pki.ts";

const usage = "proxscale fake-cluster --kubeconfig FILE [--hosts N] [--port P] [--pve-port Q] " +
  "[--write-config FILE] [--faults PLAN] [--seed N] [--boot-delay SECONDS] [--pending-pods N] " +
  "[--gpus HOST=N,...] [--gpu-model a100|t4] [--bare-metal N] [--bmc-port P] " +
  "[--bmc-hosts HOST,... [--hosts-off HOST,...] [--host-boot-delay SECONDS]]";
const summary = COMMAND_SUMMARIES["fake-cluster"];

const HELP = `usage: ${usage}

${summary}.

The fake API server (HTTPS, RBAC enforced, server-side apply, CRD CEL rules) and the fake
Proxmox VE (HTTPS, pinned fingerprint, one template VM 9000+i per host) behave like a real
cluster whether or not proxscale is right: the fake scheduler binds a pod only where
kube-scheduler would and marks the others Unschedulable; Deployments, ReplicaSets, DaemonSets,
StatefulSets and Jobs are run by their controllers; a VM that boots a NoCloud seed with a join
token the cluster accepts registers its own Node from its real cores, memory and devices.

  --kubeconfig FILE     write the admin kubeconfig here (required)
  --hosts N             Proxmox hosts, 1-64 (default 3)
  --port P              API server port (default 6443; 0 picks a free one)
  --pve-port Q          PVE API port (default 8006; 0 picks a free one)
  --write-config FILE   also write a proxscale configuration for this PVE (the token goes
                        to FILE.pve-token, mode 0600, the API server's CA to FILE.ca.crt,
                        both referenced from the config), so that
                        'proxscale run --config FILE --kubeconfig KUBECONFIG' scales it
  --faults PLAN         a YAML/JSON fault plan: PVE faults, API server faults and a timeline
                        (hostOffline/hostOnline, node + kubelet notready|unreachable|healthy,
                        dropWatches); see fakes/cluster/fault_plan.ts
  --seed N              makes names, tokens and faults repeatable (default 1)
  --boot-delay SECONDS  VM start to Node registration (default 3)
  --pending-pods N      start with a backlog of N pending pods (default/backlog-*, 250m and
                        256Mi each) that another scheduler found no node for (written to the
                        store directly, so 100,000 take seconds, not an API round trip each)
  --gpus HOST=N,...     give hosts N passthrough GPUs each (PCI devices at 0000:41:00.0 and
                        up, listed by /nodes/HOST/hardware/pci) and one PCI mapping 'gpu'
                        covering them all; a VM with hostpciN: mapping=gpu gets one at start
  --gpu-model MODEL     a100 (whole GPUs, default) or t4 (also vGPU types nvidia-222/223/230)
  --bmc-hosts HOST,...  give these hosts a BMC: one fake Redfish service, one System per
                        host (its Id the host's name) that is its power button; with --write-config the hosts get
                        their bmc (credentials in FILE.bmc-user and FILE.bmc-pass) and the
                        Provider hostPower, so proxscale powers them on and off with demand
  --hosts-off HOST,...  of the --bmc-hosts, those that start powered off
  --host-boot-delay S   a host's power-on until it is online in PVE (default 20)
  --bare-metal N        also N bare-metal machines (8 CPUs, 16 GiB) behind a fake Redfish
                        BMC; one that powers on from a NoCloud seed on its virtual CD runs a
                        kubelet; --write-config adds a Redfish Provider 'metal' for them (BMC
                        password in FILE.bmc-password, seed server certificate FILE.seed.crt/key)
  --bmc-port P          the fake BMC's port (default 0: a free one)

Example:
  proxscale fake-cluster --kubeconfig /tmp/kc --write-config /tmp/proxscale.yaml &
  KUBECONFIG=/tmp/kc kubectl get nodes
  proxscale run --config /tmp/proxscale.yaml --kubeconfig /tmp/kc`;

export const fakeClusterCommand: Command = {
  name: "fake-cluster",
  summary,
  usage,
  run(args, io, stop) {
    return runFakeCluster(args, io, () => stopped(stop));
  },
};

/** The command with an injectable stop condition (tests cannot send signals safely). */
export function fakeClusterCommandWith(untilStopped: () => Promise<void>): Command {
  return { ...fakeClusterCommand, run: (args, io) => runFakeCluster(args, io, untilStopped) };
}

/** `pve1=2,pve3=1` as GPUs per host (hosts are pve1..pve<hosts>), or why it is not. */
export function parseGpus(text: string, hosts: number): Record<string, number> | string {
  const out: Record<string, number> = {};
  for (const part of text.split(",").filter((p) => p.trim() !== "")) {
    const m = /^\s*(pve(\d+))=(\d+)\s*$/.exec(part);
    if (!m) return `'${part}' is not HOST=N`;
    const index = Number(m[2]);
    if (index < 1 || index > hosts) return `no host ${m[1]} (hosts are pve1..pve${hosts})`;
    const n = Number(m[3]);
    if (n > 16) return `${m[1]}: at most 16 GPUs per host`;
    out[m[1]!] = n;
  }
  return out;
}

function bad(io: Io, message: string): number {
  io.err(`proxscale fake-cluster: ${message}\nusage: ${usage}`);
  return 2;
}

function port(text: string | undefined, fallback: number): number | undefined {
  const n = Number(text ?? fallback);
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : undefined;
}

async function runFakeCluster(
  args: string[],
  io: Io,
  untilStopped: () => Promise<void>,
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        help: { type: "boolean", short: "h" },
        hosts: { type: "string", default: "3" },
        port: { type: "string" },
        "pve-port": { type: "string" },
        kubeconfig: { type: "string" },
        "write-config": { type: "string" },
        faults: { type: "string" },
        seed: { type: "string", default: "1" },
        "boot-delay": { type: "string", default: "3" },
        "pending-pods": { type: "string", default: "0" },
        gpus: { type: "string" },
        "gpu-model": { type: "string", default: "a100" },
        "bmc-hosts": { type: "string" },
        "hosts-off": { type: "string" },
        "host-boot-delay": { type: "string", default: "20" },
        "bare-metal": { type: "string", default: "0" },
        "bmc-port": { type: "string" },
      },
    }));
  } catch (e) {
    return bad(io, e instanceof Error ? e.message : String(e));
  }
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (!values.kubeconfig) return bad(io, "--kubeconfig FILE is required");
  const hosts = Number(values.hosts);
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > 64) {
    return bad(io, "--hosts must be an integer from 1 to 64");
  }
  const kubePort = port(values.port, 6443);
  const pvePort = port(values["pve-port"], 8006);
  if (kubePort === undefined) return bad(io, "--port must be 0-65535");
  if (pvePort === undefined) return bad(io, "--pve-port must be 0-65535");
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) return bad(io, "--seed must be an integer");
  const bootDelay = Number(values["boot-delay"]);
  if (!(bootDelay >= 0)) return bad(io, "--boot-delay must be a number of seconds >= 0");
  const pendingPods = Number(values["pending-pods"]);
  if (!Number.isInteger(pendingPods) || pendingPods < 0) {
    return bad(io, "--pending-pods must be an integer >= 0");
  }
  const gpus = values.gpus !== undefined ? parseGpus(values.gpus, hosts) : {};
  if (typeof gpus === "string") return bad(io, `--gpus: ${gpus}`);
  const gpuModel = values["gpu-model"];
  if (gpuModel !== "a100" && gpuModel !== "t4") return bad(io, "--gpu-model must be a100 or t4");
  const names = Array.from({ length: hosts }, (_, i) => `pve${i + 1}`);
  const list = (v: string | undefined) => (v ?? "").split(",").map((x) => x.trim()).filter(Boolean);
  const bmcHosts = list(values["bmc-hosts"]);
  const hostsOff = list(values["hosts-off"]);
  for (const h of bmcHosts) if (!names.includes(h)) return bad(io, `--bmc-hosts: no host ${h}`);
  for (const h of hostsOff) {
    if (!bmcHosts.includes(h)) return bad(io, `--hosts-off: ${h} is not one of --bmc-hosts`);
  }
  const hostBoot = Number(values["host-boot-delay"]);
  if (!(hostBoot >= 0)) return bad(io, "--host-boot-delay must be a number of seconds >= 0");
  const bareMetal = Number(values["bare-metal"]);
  if (!Number.isInteger(bareMetal) || bareMetal < 0 || bareMetal > 64) {
    return bad(io, "--bare-metal must be an integer from 0 to 64");
  }
  const bmcPort = port(values["bmc-port"], 0);
  if (bmcPort === undefined) return bad(io, "--bmc-port must be 0-65535");
  let faults: FaultPlan | undefined;
  if (values.faults) {
    let text;
    try {
      text = await Deno.readTextFile(values.faults);
    } catch (e) {
      return bad(io, `--faults ${values.faults}: ${e instanceof Error ? e.message : e}`);
    }
    const plan = parseFaultPlan(text);
    if (!plan.ok) return bad(io, `--faults ${values.faults}: ${plan.error}`);
    faults = plan.value;
  }
  let cluster: FakeCluster;
  try {
    cluster = await startFakeCluster({
      hosts,
      kubePort,
      pvePort,
      seed,
      bootDelayMs: bootDelay * 1000,
      ...(faults ? { faults } : {}),
      ...(Object.keys(gpus).length
        ? { pve: { model: { pci: gpuSeed(gpus, { model: gpuModel }) } } }
        : {}),
      ...(bareMetal > 0
        ? {
          bareMetal: {
            systems: Array.from({ length: bareMetal }, () => ({ cpus: 8, memoryGiB: 16 })),
            port: bmcPort,
            provider: "metal",
          },
        }
        : {}),
    });
  } catch (e) {
    io.err(`proxscale fake-cluster: cannot start: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  let hostBmc: HostBmc | undefined;
  try {
    if (bmcHosts.length) {
      hostBmc = await startHostBmc(cluster.pve, bmcHosts, {
        off: hostsOff,
        bootDelayMs: hostBoot * 1000,
      });
    }
    // Before the kubeconfig appears: whoever waits for it finds the backlog complete.
    if (pendingPods > 0) seedPendingPods(cluster.kube.store, pendingPods);
    await Deno.writeTextFile(values.kubeconfig, cluster.kube.kubeconfig(), { mode: 0o600 });
    const configFile = values["write-config"];
    if (configFile) {
      const tokenFile = `${configFile}.pve-token`;
      const caFile = `${configFile}.ca.crt`;
      await Deno.writeTextFile(tokenFile, cluster.pve.tokenSecret, { mode: 0o600 });
      await Deno.writeTextFile(caFile, cluster.kube.caPem ?? "");
      const metal = cluster.bmc ? await bareMetalFiles(cluster, configFile) : undefined;
      let bmc: BmcFiles | undefined;
      if (hostBmc) {
        bmc = {
          url: hostBmc.bmc.url,
          fingerprint: hostBmc.bmc.fingerprint,
          systemOf: hostBmc.systemOf,
          userFile: `${configFile}.bmc-user`,
          passFile: `${configFile}.bmc-pass`,
        };
        await Deno.writeTextFile(bmc.userFile, hostBmc.bmc.username, { mode: 0o600 });
        await Deno.writeTextFile(bmc.passFile, hostBmc.bmc.password, { mode: 0o600 });
      }
      await Deno.writeTextFile(
        configFile,
        proxscaleConfigFor(cluster, {
          tokenFile,
          caFile,
          ...(bmc ? { bmc } : {}),
          ...(metal ? { metal } : {}),
        }),
      );
    }
    const pve = cluster.pve;
    io.out(
      [
        `fake cluster: ${hosts} Proxmox host${hosts === 1 ? "" : "s"} (${
          [...pve.model.st.hosts.keys()].join(", ")
        })`,
        `kubernetes:   ${cluster.kube.url} (admin kubeconfig: ${values.kubeconfig})`,
        `proxmox:      ${pve.url}`,
        `fingerprint:  ${pve.fingerprint}`,
        `pve token:    ${pve.tokenId}=${pve.tokenSecret}`,
        `templates:    ${
          [...pve.model.st.vms.values()].map((v) => `${v.vmid} on ${v.node}`).join(", ")
        }`,
        ...(configFile
          ? [
            `config:       ${configFile} (token in ${configFile}.pve-token, CA ${configFile}.ca.crt)`,
          ]
          : []),
        ...(Object.keys(gpus).length
          ? [
            `gpus:         ${
              Object.entries(gpus).map(([h, n]) => `${n} × ${gpuModel} on ${h}`).join(", ")
            } (PCI mapping 'gpu')`,
          ]
          : []),
        ...(hostBmc
          ? [
            `host bmc:     ${hostBmc.bmc.url} (Systems ${
              Object.values(hostBmc.systemOf).join(", ")
            }; off: ${hostsOff.join(", ") || "none"}; user ${hostBmc.bmc.username})`,
          ]
          : []),
        ...(cluster.bmc
          ? [
            `redfish bmc:  ${cluster.bmc.url} (${cluster.bmc.username} / ${cluster.bmc.password}, fingerprint ${cluster.bmc.fingerprint}), ${bareMetal} machine${
              bareMetal === 1 ? "" : "s"
            }`,
          ]
          : []),
        ...(pendingPods > 0
          ? [`backlog:      ${pendingPods} pending pods (default/backlog-*, unschedulable)`]
          : []),
        `try:          KUBECONFIG=${values.kubeconfig} kubectl get nodes,pods -A`,
      ].join("\n"),
    );
    await untilStopped();
    io.out("fake-cluster stopped");
    return 0;
  } catch (e) {
    io.err(`proxscale fake-cluster: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    await hostBmc?.close();
    await cluster.close();
  }
}

/** The fake BMC as the written configuration names it (files hold the credentials). */
export type BmcFiles = {
  url: string;
  fingerprint: string;
  systemOf: Record<string, string>;
  userFile: string;
  passFile: string;
};

/**
 * A proxscale configuration for this cluster: one Provider on the fake PVE (pinned
 * fingerprint, token read from `tokenFile`), a MachineTemplate that clones each host's own
 * template and boots through a NoCloud seed with a join token (the kubeadm CA hash from
 * `caFile`, the API server's CA), with a GPU shape when the fake has GPUs, and one NodePool.
 */
export function proxscaleConfigFor(
  cluster: FakeCluster,
  files: { tokenFile: string; caFile: string; bmc?: BmcFiles; metal?: BareMetalFiles },
): string {
  const { tokenFile, caFile, bmc } = files;
  const hosts = [...cluster.pve.model.st.hosts.keys()].sort();
  const templates = new Map(
    [...cluster.pve.model.st.vms.values()].map((v) => [String(v.node), v.vmid]),
  );
  const doc = {
    apiVersion: "proxscale.io/v1alpha1",
    providers: [{
      name: cluster.provider,
      spec: {
        endpoint: cluster.pve.url,
        tokenId: cluster.pve.tokenId,
        tokenSecret: { file: tokenFile },
        tls: { fingerprint: cluster.pve.fingerprint, insecureSkipVerify: false },
        hosts: hosts.map((name) => ({
          name,
          zone: name,
          cpuOvercommit: 1,
          reserved: { cpu: "1", memory: "2Gi" },
          ...(bmc?.systemOf[name]
            ? {
              bmc: {
                endpoint: bmc.url,
                systemId: bmc.systemOf[name],
                username: { file: bmc.userFile },
                password: { file: bmc.passFile },
                tls: { fingerprint: bmc.fingerprint },
                bootDelay: "1m",
              },
            }
            : {}),
        })),
        ...(bmc ? { hostPower: { powerOffAfter: "5m", minOnlineHosts: 2 } } : {}),
        vmidRange: { lower: 1000, upper: 1999 },
        managedTag: "proxscale",
        placement: "leastAllocated",
      },
    }, ...(files.metal && cluster.bmc ? [metalProvider(cluster.bmc, files.metal)] : [])],
    machineTemplates: [...(files.metal ? [metalTemplate(caFile, cluster.kube.url)] : []), {
      name: "worker",
      spec: {
        provider: cluster.provider,
        shapes: [
          { cpu: 2, memory: "4Gi" },
          { cpu: 4, memory: "8Gi" },
          { cpu: 8, memory: "16Gi" },
          // With --gpus: a GPU shape taking one device of the seeded mapping.
          ...(pciState(cluster.pve.model.st).mappings.has("gpu")
            ? [{ cpu: 4, memory: "8Gi", gpus: { count: 1, mapping: "gpu" } }]
            : []),
        ],
        vmMemOverheadMiB: 256,
        reserved: { cpu: "100m", memory: "256Mi" },
        source: {
          clone: {
            perHost: Object.fromEntries(hosts.map((h) => [h, templates.get(h)])),
            full: false,
          },
        },
        bootstrap: {
          mode: "nocloudIso",
          template: "kubeadm",
          isoStorage: "local",
          clusterServer: new URL(cluster.kube.url).host,
          caCertHashFrom: caFile,
        },
        tags: ["k8s"],
      },
    }],
    nodePools: [...(files.metal ? [metalPool] : []), {
      name: "general",
      spec: {
        machineTemplate: "worker",
        limits: { nodes: 20 },
        scaleUp: { batchSize: 20, stabilizationWindow: "0s", maxConcurrent: 10 },
        scaleDown: { maxConcurrent: 5, drainTimeout: "1m", stabilizationWindow: "30s" },
        disruption: { consolidationPolicy: "WhenEmptyOrUnderutilized", consolidateAfter: "30s" },
      },
    }],
    settings: { batchIdle: "1s", batchMax: "10s" },
  };
  return `# Written by proxscale fake-cluster for ${cluster.pve.url}.\n${stringify(doc)}`;
}

/** Files a bare-metal Provider's configuration reads, written beside the configuration. */
export type BareMetalFiles = {
  passwordFile: string;
  certFile: string;
  keyFile: string;
  seedPort: number;
};

/** Writes the BMC password and a seed server certificate for 127.0.0.1 beside `configFile`. */
async function bareMetalFiles(cluster: FakeCluster, configFile: string): Promise<BareMetalFiles> {
  const files = {
    passwordFile: `${configFile}.bmc-password`,
    certFile: `${configFile}.seed.crt`,
    keyFile: `${configFile}.seed.key`,
  };
  const ca = await issueCa("proxscale fake-cluster seed CA");
  const leaf = await issueLeaf(ca, {
    subject: "/CN=127.0.0.1",
    usage: "serverAuth",
    sans: serverSans("127.0.0.1"),
  });
  await Deno.writeTextFile(files.passwordFile, cluster.bmc!.password, { mode: 0o600 });
  await Deno.writeTextFile(files.certFile, leaf.certPem);
  await Deno.writeTextFile(files.keyFile, leaf.keyPem, { mode: 0o600 });
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seedPort = (l.addr as Deno.NetAddr).port;
  l.close();
  return { ...files, seedPort };
}

function metalProvider(bmc: FakeRedfish, f: BareMetalFiles) {
  return {
    name: "metal",
    spec: {
      kind: "redfish",
      machines: [...bmc.model.systems.keys()].map((id, i) => ({
        name: `metal-${i + 1}`,
        zone: "rack-1",
        endpoint: bmc.url,
        systemId: id,
        username: bmc.username,
        password: { file: f.passwordFile },
        tls: { fingerprint: bmc.fingerprint, insecureSkipVerify: false },
      })),
      seedServer: {
        listen: `127.0.0.1:${f.seedPort}`,
        url: `https://127.0.0.1:${f.seedPort}`,
        certFile: f.certFile,
        keyFile: f.keyFile,
        ttlSeconds: 600,
      },
    },
  };
}

function metalTemplate(caFile: string, kubeUrl: string) {
  return {
    name: "metal",
    spec: {
      provider: "metal",
      shapes: [{ cpu: 8, memory: "16Gi" }],
      reserved: { cpu: "100m", memory: "256Mi" },
      bootstrap: {
        mode: "nocloudIso",
        template: "kubeadm",
        isoStorage: "local",
        clusterServer: new URL(kubeUrl).host,
        caCertHashFrom: caFile,
      },
    },
  };
}

const metalPool = {
  name: "metal",
  spec: {
    machineTemplate: "metal",
    weight: 10,
    limits: { nodes: 64 },
    disruption: { consolidationPolicy: "WhenEmptyOrUnderutilized", consolidateAfter: "30s" },
  },
};

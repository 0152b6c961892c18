/**
 * Test fixtures for the Proxmox adapter: one NodeClaim, a MachineTemplate that creates from
 * scratch with a scratch disk, NIC and PVE cloud-init, and a Provider. Tests derive variants.
 */
import type { MachineTemplate, NodeClaim, Provider } from "../../../core/model.ts";
import { GiB, MiB } from "../../../core/quantity.ts";

export const claim: NodeClaim = {
  name: "general-x7k2p",
  nodePool: "general",
  machineTemplate: "small",
  provider: "lab",
  shape: { name: "2c-4Gi", cpu: 2000, memory: 4 * GiB },
  createdAt: 0,
  labels: {},
  taints: [],
  startupTaints: [],
  conditions: [],
};

export const template: MachineTemplate = {
  name: "small",
  provider: "lab",
  shapes: [claim.shape],
  vmMemOverhead: 256 * MiB,
  reserved: { cpu: 0, memory: 0 },
  maxPods: 110,
  source: {
    kind: "scratch",
    options: { ostype: "l26", boot: "order=net0", scsihw: "virtio-scsi-single" },
  },
  disks: [{
    slot: "scsi1",
    storage: "local-lvm",
    size: 16 * GiB,
    serial: "CONTAINERD01",
    discard: true,
    ssd: true,
  }],
  network: [{ slot: "net0", model: "virtio", bridge: "vmbr0", vlan: 20, ipconfig: "ip=dhcp" }],
  bootstrap: {
    mode: "pveCloudInit",
    ciuser: "core",
    sshKeys: ["ssh-ed25519 AAAAC3Nza me@host"],
    nameserver: "10.0.0.1",
    searchdomain: "lan",
    cicustom: "user=local:snippets/join.yaml",
  },
  labels: {},
  annotations: {},
  taints: [],
  startupTaints: [],
  tags: ["K8s", "pool-a"],
};

export const provider: Provider = {
  name: "lab",
  endpoint: "https://127.0.0.1:8006",
  tokenId: "proxscale@pve!t",
  tokenSecret: { env: "X" },
  tls: { insecureSkipVerify: false },
  hosts: [],
  vmidRange: { lower: 1000, upper: 1099 },
  managedTag: "proxscale",
  placement: "leastAllocated",
};

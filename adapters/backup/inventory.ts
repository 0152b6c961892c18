/**
 * The PVE side of a backup: every VM proxscale manages on each configured Provider, by the
 * same rule the provider uses (a claim identity in its description, and the managed tag or a
 * VMID inside the Provider's range), with its VMID, host, claim, tags and the template hash
 * its NodeClaim records. The Provider's token is read to connect, never written anywhere.
 *
 * May import: core/, adapters/.
 */
import type { Config, Provider } from "../../core/model.ts";
import type { KubeClient } from "../kubernetes/client.ts";
import { kubeSecretReader } from "../kubernetes/secret_reader.ts";
import { connectPveClient, type PveClient } from "../proxmox/client.ts";
import { TEMPLATE_HASH_ANNOTATION } from "../kubernetes/translate.ts";
import {
  claimFromDescription,
  hasTag,
  parseTags,
  templateHashFromDescription,
} from "../proxmox/vm_config.ts";
import type { BackupObject, InventoryVm } from "./backup_file.ts";

/** The managed VMs of one Provider through `client`; hosts that cannot be read are problems. */
export async function providerInventory(
  p: Provider,
  client: PveClient,
  hashes: ReadonlyMap<string, string>,
): Promise<{ vms: InventoryVm[]; problems: string[] }> {
  const vms: InventoryVm[] = [];
  const problems: string[] = [];
  for (const h of p.hosts) {
    const list = await client.qemuList(h.name);
    if (!list.ok) {
      problems.push(`provider ${p.name}, host ${h.name}: ${list.error.message}`);
      continue;
    }
    for (const v of list.value) {
      if (v.template) continue;
      const inRange = v.vmid >= p.vmidRange.lower && v.vmid <= p.vmidRange.upper;
      if (!inRange && !hasTag(v.tags, p.managedTag)) continue;
      const cfg = await client.vmConfig(h.name, v.vmid);
      if (!cfg.ok) {
        problems.push(`provider ${p.name}, VM ${v.vmid}: ${cfg.error.message}`);
        continue;
      }
      const claim = claimFromDescription(cfg.value.description);
      if (!claim || !(inRange || hasTag(cfg.value.tags, p.managedTag))) continue;
      const hash = templateHashFromDescription(cfg.value.description) ?? hashes.get(claim);
      vms.push({
        provider: p.name,
        vmid: v.vmid,
        host: h.name,
        name: cfg.value.name ?? v.name ?? `VM ${v.vmid}`,
        status: v.status,
        claim,
        ...(hash ? { templateHash: hash } : {}),
        tags: parseTags(cfg.value.tags),
      });
    }
  }
  return { vms, problems };
}

/** The inventory of every Provider in `config`; a Provider that cannot be reached is a problem. */
export async function readInventory(
  config: Config,
  kube: KubeClient,
  namespace: string,
  objects: readonly BackupObject[],
): Promise<{ vms: InventoryVm[]; problems: string[] }> {
  const hashes = new Map<string, string>();
  for (const o of objects) {
    const h = o.kind === "NodeClaim"
      ? o.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION]
      : undefined;
    if (h) hashes.set(o.metadata.name, h);
  }
  const vms: InventoryVm[] = [];
  const problems: string[] = [];
  for (const p of config.providers) {
    const client = await connectPveClient(p, {
      readKubeSecret: kubeSecretReader(kube, namespace),
      timeoutMs: 10_000,
      retry: { attempts: 2, baseMs: 200, maxMs: 500 },
    });
    if (!client.ok) {
      problems.push(`provider ${p.name}: ${client.error.message}`);
      continue;
    }
    try {
      const r = await providerInventory(p, client.value, hashes);
      vms.push(...r.vms);
      problems.push(...r.problems);
    } finally {
      client.value.close();
    }
  }
  return { vms: vms.sort((a, b) => a.vmid - b.vmid), problems };
}

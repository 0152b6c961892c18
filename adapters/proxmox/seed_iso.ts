/**
 * The NoCloud seed ISO on the Proxmox side: uploaded to the `iso`
 * storage of the host the VM was made on (uploads relayed to another host fail), attached
 * as a cdrom before the first start, and after registration or a failed claim detached
 * (`none,media=cdrom`) and deleted, since no VM destroy removes an ISO volume. The seed names
 * the VM (VMID, MACs, providerID), so it is built after the VM exists and before it starts.
 */
import { err, ok, type Result } from "../../core/result.ts";
import type { ProviderError, SeedIsoRef, SeedIsoRequest } from "../../daemon/ports/provider.ts";
import { type Ctx, persist, pveFail } from "./provider_context.ts";
import { findClaimVm } from "./provider_view.ts";
import { unlocked } from "./finish.ts";
import type { VmConfig } from "./schemas.ts";
import { type DesiredConfig, parseProps } from "./vm_config.ts";

/** The drive value that empties a cdrom slot before its ISO is deleted. */
export const EMPTY_CDROM = "none,media=cdrom";

/** `<storage>:iso/<name>`, the volume id PVE lists and attaches. */
export function seedVolid(iso: SeedIsoRef): string {
  return `${iso.storage}:iso/${iso.name}`;
}

/** MAC per network slot as the VM's config holds it (PVE fills them in at create/clone). */
export function macsOf(config: VmConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    if (!/^net\d+$/.test(k) || typeof v !== "string") continue;
    const props = parseProps(v, "model");
    const model = [...props.keys()][0] ?? "";
    const mac = props.get(model) ?? props.get("macaddr");
    if (mac && /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(mac)) out[k] = mac;
  }
  return out;
}

/**
 * Builds the claim's seed for VM `vmid` on `node`, uploads it there and returns `desired` with
 * the cdrom set, so converging the config attaches it. Uploading again under the same name
 * replaces the file, so a repeated launch is harmless.
 */
export async function uploadSeedIso(
  ctx: Ctx,
  node: string,
  vmid: number,
  desired: DesiredConfig,
  req: SeedIsoRequest,
): Promise<Result<DesiredConfig, ProviderError>> {
  const cfg = await unlocked(ctx, node, vmid);
  if (!cfg.ok) return cfg;
  const volid = seedVolid(req);
  const withCdrom: DesiredConfig = {
    ...desired,
    cdrom: {
      slot: req.slot,
      value: `${volid},media=cdrom`,
      match: (c) => c.split(",")[0] === volid,
    },
  };
  // An adopted VM that already booted from its seed keeps it: a new token now would replace
  // the one its kubelet is joining with (the old Secret is deleted when a new one is minted).
  const current = cfg.value[req.slot];
  if (typeof current === "string" && current.split(",")[0] === volid) {
    const st = await persist(ctx, () => ctx.client.vmStatus(node, vmid));
    if (st.ok && st.value.status === "running") return ok(withCdrom);
  }
  const built = await req.build({ host: node, vmid, macs: macsOf(cfg.value) });
  if (!built.ok) {
    return err({ kind: "BootstrapFailed", message: `seed for VM ${vmid}: ${built.error}` });
  }
  const up = await ctx.client.uploadIso(
    node,
    req.storage,
    req.name,
    built.value,
    ctx.t.taskDeadline,
  );
  if (!up.ok) {
    return err(pveFail(`upload seed ISO ${req.name} to ${req.storage} on ${node}`, up.error));
  }
  return ok(withCdrom);
}

/**
 * Detaches the claim's seed ISO from its VM (when the VM still exists and holds it) and deletes
 * the volume from every configured host that lists it (a shared storage lists it everywhere;
 * the first delete removes it). A host that cannot be listed is skipped: the ISO there is
 * found again by the next release (e.g. the claim's finalization).
 */
export async function releaseSeedIso(
  ctx: Ctx,
  claim: string,
  iso: SeedIsoRef,
): Promise<Result<{ detached: boolean; deleted: string[] }, ProviderError>> {
  const volid = seedVolid(iso);
  let detached = false;
  const found = await findClaimVm(ctx, claim);
  if (!found.ok) return found;
  const vm = found.value;
  if (vm && !vm.config.lock) {
    const cur = vm.config[iso.slot];
    if (typeof cur === "string" && cur.split(",")[0] === volid) {
      const r = await ctx.client.updateConfig(vm.node, vm.vmid, {
        [iso.slot]: EMPTY_CDROM,
        digest: vm.config.digest,
      });
      if (!r.ok && r.error.kind !== "notFound") {
        return err(pveFail(`detach ${volid} from VM ${vm.vmid}`, r.error));
      }
      detached = r.ok;
    }
  }
  const deleted: string[] = [];
  for (const h of ctx.provider.hosts) {
    const list = await persist(ctx, () => ctx.client.storageContent(h.name, iso.storage, "iso"));
    if (!list.ok || !list.value.some((v) => v.volid === volid)) continue;
    const d = await ctx.client.deleteVolume(h.name, iso.storage, volid, ctx.t.taskDeadline);
    if (!d.ok) {
      const again = await persist(ctx, () => ctx.client.storageContent(h.name, iso.storage, "iso"));
      if (again.ok && !again.value.some((v) => v.volid === volid)) continue; // gone meanwhile
      return err(pveFail(`delete ${volid} on ${h.name}`, d.error));
    }
    deleted.push(h.name);
  }
  return ok({ detached, deleted });
}

/** Does `host` have `storage` for ISOs? An error text when it does not (for the launch message). */
export async function isoStorageProblem(
  ctx: Ctx,
  host: string,
  storage: string,
): Promise<string | undefined> {
  const list = await persist(ctx, () => ctx.client.storageContent(host, storage, "iso"));
  return list.ok ? undefined : `${host} has no iso storage ${storage} (${list.error.message})`;
}

/**
 * Templates built from cloud images (MachineTemplate `source.image`): the template's identity
 * (a digest of the image and of every setting baked into the template VM), the name and
 * description that carry it on the PVE side, the file the image is downloaded as, which hosts
 * get a copy, and which old templates are no longer used. Pure: the PVE steps live in
 * adapters/proxmox/template_build.ts, the job in daemon/template_jobs.ts.
 *
 * May import: core/ only.
 */
import type { MachineTemplate } from "./model.ts";
import { fnv1a, stableJson } from "./hash.ts";

/** The image source of a MachineTemplate. */
export type ImageSource = Extract<MachineTemplate["source"], { kind: "image" }>;

/** A template VM proxscale built from an image, as the inventory shows it. */
export type BuiltTemplate = {
  vmid: number;
  host: string;
  name: string;
  /** PVE's `template` flag: false while a build is under way or was interrupted. */
  template: boolean;
};

/** The source when the template is built from an image, else undefined. */
export function imageSource(t: MachineTemplate): ImageSource | undefined {
  return t.source.kind === "image" ? t.source : undefined;
}

/**
 * The template's identity: 16 hex digits over the image (URL, checksum), the storages and
 * the VM options baked into the template VM. A change in any of them is a new template.
 */
export function imageTemplateDigest(t: MachineTemplate): string {
  const s = imageSource(t);
  if (!s) throw new Error(`MachineTemplate ${t.name} is not built from an image`);
  const text = stableJson({
    url: s.url,
    checksum: s.checksum,
    storage: s.storage,
    importStorage: s.importStorage,
    vm: t.vm ?? null,
  });
  const a = fnv1a(text).toString(16).padStart(8, "0");
  const b = fnv1a(`digest:${text}`).toString(16).padStart(8, "0");
  return a + b;
}

/** The prefix every template VM of this MachineTemplate carries in its name. */
export function imageTemplatePrefix(t: MachineTemplate): string {
  return `pxs-tpl-${t.name}-`.slice(0, 48);
}

/** The template VM's PVE name: `pxs-tpl-<MachineTemplate>-<digest>` (a valid DNS name). */
export function imageTemplateName(t: MachineTemplate, digest = imageTemplateDigest(t)): string {
  return `${imageTemplatePrefix(t)}${digest}`;
}

/** The template VM's description: what it was built from, with the image's checksum. */
export function imageTemplateDescription(t: MachineTemplate, digest: string): string {
  const s = imageSource(t)!;
  return [
    `proxscale image template of MachineTemplate ${t.name}`,
    `image: ${s.url}`,
    `${s.checksum.algorithm}: ${s.checksum.value}`,
    `digest: ${digest}`,
  ].join("\n");
}

/**
 * The file name the image is downloaded as (content `import`): keyed by its checksum, so a
 * template rebuilt for another VM setting reuses the downloaded image.
 */
export function imageFileName(s: ImageSource): string {
  const ext = /\.(qcow2|raw|vmdk)$/i.exec(new URL(s.url).pathname)?.[1]?.toLowerCase() ??
    "qcow2";
  return `proxscale-${s.checksum.value.slice(0, 24)}.${ext}`;
}

/**
 * Hosts that get a template VM: the source's `perHost` list (or every Provider host), or only
 * the first of them when the template's storage is shared (one template serves every host).
 */
export function imageBuildHosts(
  s: ImageSource,
  providerHosts: readonly string[],
  sharedStorage: boolean,
): string[] {
  const hosts = s.perHost
    ? providerHosts.filter((h) => s.perHost!.includes(h))
    : [...providerHosts];
  return sharedStorage ? hosts.slice(0, 1) : hosts;
}

/** The finished template of this digest that serves `host`, if any. */
export function templateFor(
  t: MachineTemplate,
  host: string,
  built: readonly BuiltTemplate[],
  sharedStorage: boolean,
): BuiltTemplate | undefined {
  const name = imageTemplateName(t);
  return built.find((b) => b.template && b.name === name && (sharedStorage || b.host === host));
}

/**
 * Old template VMs of this MachineTemplate (another digest) that can go: none while some claim
 * of a pool using the template still carries a hash other than today's (its VM may be a clone
 * of an old template, or be replaced from it), as `stillUsed` says.
 */
export function staleTemplates(
  t: MachineTemplate,
  built: readonly BuiltTemplate[],
  stillUsed: boolean,
): BuiltTemplate[] {
  if (stillUsed) return [];
  const prefix = imageTemplatePrefix(t);
  const name = imageTemplateName(t);
  return built.filter((b) =>
    b.name.startsWith(prefix) && /^[0-9a-f]{16}$/.test(b.name.slice(prefix.length)) &&
    b.name !== name
  );
}

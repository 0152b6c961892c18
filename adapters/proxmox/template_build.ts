/**
 * Builds a MachineTemplate's template VM from its cloud image on one host, as a resumable series
 * of PVE steps each of which is first checked against what PVE already has:
 *
 * 1. a finished template VM named for today's digest exists: done;
 * 2. the image file is on the host's import storage, else `download-url` (content `import`,
 *    PVE verifies the checksum; a mismatch is final, no retry heals it);
 * 3. a VM from the template VMID range with `scsi0: <storage>:0,import-from=<image>`, a
 *    cloud-init drive and the template's VM options (a VM left half-built by a crash is
 *    converted when its disk is there, destroyed and made again when not);
 * 4. `POST …/template`.
 *
 * A crash anywhere resumes at the first step not yet done; in particular a downloaded image is
 * never downloaded again. Also: the inventory of built template VMs, and their removal.
 *
 * May import: core/, adapters/proxmox/.
 */
import {
  type BuiltTemplate,
  imageFileName,
  imageSource,
  imageTemplateDescription,
  imageTemplateDigest,
  imageTemplateName,
  imageTemplatePrefix,
} from "../../core/image_template.ts";
import type { MachineTemplate } from "../../core/model.ts";
import { z } from "zod";
import { err, ok, type Result } from "../../core/result.ts";
import type { PveClient } from "./client.ts";
import type { PveError } from "./errors.ts";
import * as S from "./schemas.ts";
import { vmOptionScalars } from "./vm_options.ts";

/** Why a build step did not finish; `retry: false` when only a configuration change helps. */
export type TemplateBuildError = {
  kind: "ChecksumMismatch" | "RangeExhausted" | "Busy" | "Pve";
  step: string;
  message: string;
  retry: boolean;
};

/** What a build did (for status lines and tests). */
export type TemplateBuildResult = {
  vmid: number;
  host: string;
  /** Steps carried out this time: `download`, `create`, `template` (empty: it existed). */
  steps: string[];
};

/** The finished template VM of today's digest for `host` (on it, else on shared storage). */
export function imageTemplateVm(
  template: MachineTemplate,
  host: string,
  vms: readonly S.ResourceVm[],
): S.ResourceVm | undefined {
  const name = imageTemplateName(template);
  const done = vms.filter((v) => v.type === "qemu" && v.name === name && v.template === true);
  return done.find((v) => v.node === host) ?? done[0];
}

/** Template VMs proxscale built (by name, inside the template VMID range). */
export function builtTemplates(
  vms: readonly S.ResourceVm[],
  range: { lower: number; upper: number },
): BuiltTemplate[] {
  return vms
    .filter((v) =>
      v.type === "qemu" && v.vmid >= range.lower && v.vmid <= range.upper &&
      (v.name ?? "").startsWith("pxs-tpl-")
    )
    .map((v) => ({ vmid: v.vmid, host: v.node, name: v.name!, template: v.template === true }))
    .sort((a, b) => a.vmid - b.vmid);
}

/** `GET /nodes/{node}/tasks` entries (only the fields used here). */
const activeTasks = z.array(z.looseObject({ upid: z.string(), id: z.string().optional() }));

function pve(step: string, e: PveError, retry = true): TemplateBuildError {
  return { kind: "Pve", step, message: `${step}: ${e.message}`, retry };
}

/** Inputs of one build. */
export type BuildArgs = {
  client: PveClient;
  template: MachineTemplate;
  host: string;
  range: { lower: number; upper: number };
  /** The managed tag: the template VM is tagged `<tag>-template`, never with the tag itself
   * (it is no node VM, so nothing that looks for node VMs by their tag may find it). */
  tag: string;
  /** Task deadline (downloads of large images take minutes). */
  deadlineMs?: number;
  /** VMIDs other builds of this process are creating now (filled in as ids are chosen). */
  avoid?: Set<number>;
};

/** Runs the build steps that are still missing; see the file comment. */
export async function buildImageTemplate(
  a: BuildArgs,
): Promise<Result<TemplateBuildResult, TemplateBuildError>> {
  // The VMIDs this build reserved in `avoid` are released when it ends: by then PVE lists them.
  const mine: number[] = [];
  const reserve = (id: number) => {
    if (a.avoid && !a.avoid.has(id)) {
      a.avoid.add(id);
      mine.push(id);
    }
  };
  try {
    return await build(a, reserve);
  } finally {
    for (const id of mine) a.avoid?.delete(id);
  }
}

async function build(
  a: BuildArgs,
  reserve: (id: number) => void,
): Promise<Result<TemplateBuildResult, TemplateBuildError>> {
  const src = imageSource(a.template);
  if (!src) throw new Error(`MachineTemplate ${a.template.name} is not built from an image`);
  const { client, host } = a;
  const steps: string[] = [];
  const digest = imageTemplateDigest(a.template);
  const name = imageTemplateName(a.template, digest);
  const deadline = a.deadlineMs !== undefined ? { deadlineMs: a.deadlineMs } : {};
  const vms = await client.resourcesVm();
  if (!vms.ok) return err(pve("list VMs", vms.error));
  const mine = vms.value.filter((v) => v.type === "qemu" && v.name === name && v.node === host);
  const finished = mine.find((v) => v.template === true);
  if (finished) return ok({ vmid: finished.vmid, host, steps });
  let vmid: number | undefined;
  for (const half of mine) {
    // Left by an interrupted build: convert it when its disk is there, else start over.
    if (half.lock) {
      return err({
        kind: "Busy",
        step: `template VM ${half.vmid}`,
        message: `template VM ${half.vmid} on ${host} is locked (${half.lock}); waiting for it`,
        retry: true,
      });
    }
    const conf = await client.vmConfig(host, half.vmid);
    if (!conf.ok) return err(pve(`read template VM ${half.vmid}`, conf.error));
    if (vmid === undefined && typeof conf.value.scsi0 === "string") vmid = half.vmid;
    else {
      const d = await client.runTask(
        client.deleteVm(host, half.vmid),
        `delete half-built VM ${half.vmid}`,
        a.deadlineMs,
      );
      if (!d.ok && d.error.kind !== "notFound") return err(pve(`delete VM ${half.vmid}`, d.error));
    }
  }
  if (vmid === undefined) {
    const file = imageFileName(src);
    const volid = `${src.importStorage}:import/${file}`;
    // A download started before a crash may still run: wait for it instead of fetching again.
    const running = await client.call(
      activeTasks,
      "GET",
      `/nodes/${encodeURIComponent(host)}/tasks`,
      { typefilter: "download", source: "active" },
    );
    if (!running.ok) return err(pve(`list running downloads on ${host}`, running.error));
    for (const task of running.value.filter((x) => x.id === file)) {
      const w = await client.waitTask(task.upid, deadline);
      // Its failure (a checksum mismatch) is seen again by the download below.
      if (!w.ok && w.error.kind === "taskDeadline") return err(pve("wait for download", w.error));
    }
    const content = await client.storageContent(host, src.importStorage, "import");
    if (!content.ok) return err(pve(`list ${src.importStorage} on ${host}`, content.error));
    if (!content.value.some((v) => v.volid === volid)) {
      const step = `download ${src.url} to ${volid} on ${host}`;
      const dl = await client.runTask(
        client.call(
          S.upid,
          "POST",
          `/nodes/${encodeURIComponent(host)}/storage/${
            encodeURIComponent(src.importStorage)
          }/download-url`,
          {
            url: src.url,
            content: "import",
            filename: file,
            checksum: src.checksum.value,
            "checksum-algorithm": src.checksum.algorithm,
          },
          { idempotent: false },
        ),
        step,
        a.deadlineMs,
      );
      if (!dl.ok) {
        const text = dl.error.pveMessage ?? dl.error.message;
        if (/checksum mismatch/.test(text)) {
          return err({
            kind: "ChecksumMismatch",
            step,
            message: `${step}: ${text}`,
            retry: false,
          });
        }
        // Another build (or a lost answer) already put the file there: use it.
        if (!/refusing to override existing file/.test(text)) return err(pve(step, dl.error));
      }
      steps.push("download");
    }
    // Concurrent builds on other hosts pick from the same range: a VMID taken meanwhile
    // ("already exists") moves on to the next free one.
    const taken = new Set([...vms.value.map((v) => v.vmid), ...(a.avoid ?? [])]);
    for (let attempt = 0;; attempt++) {
      let id: number | undefined;
      for (let i = a.range.lower; i <= a.range.upper && id === undefined; i++) {
        if (!taken.has(i)) id = i;
      }
      if (id === undefined) {
        return err({
          kind: "RangeExhausted",
          step: "choose template VMID",
          message: `no free VMID in the template range ${a.range.lower}-${a.range.upper}`,
          retry: false,
        });
      }
      reserve(id);
      const params: Record<string, string | number> = {
        vmid: id,
        name,
        description: imageTemplateDescription(a.template, digest),
        tags: `${a.tag}-template`,
        scsihw: "virtio-scsi-single",
        scsi0: `${src.storage}:0,import-from=${volid}`,
        ide2: `${src.storage}:cloudinit`,
        boot: "order=scsi0",
        serial0: "socket",
        ...vmOptionScalars(a.template.vm),
      };
      const c = await client.runTask(
        client.createVm(host, params),
        `create template VM ${id}`,
        a.deadlineMs,
      );
      if (c.ok) {
        vmid = id;
        break;
      }
      if (c.error.kind !== "alreadyExists" || attempt >= 8) {
        return err(pve(`create template VM ${id} on ${host}`, c.error));
      }
      taken.add(id);
    }
    steps.push("create");
  }
  const t = await client.runTask(
    client.call(
      S.upid,
      "POST",
      `/nodes/${encodeURIComponent(host)}/qemu/${vmid}/template`,
      {},
      { idempotent: false },
    ),
    `convert VM ${vmid} to a template`,
    deadline.deadlineMs,
  );
  if (!t.ok && !/can't convert a template to a template/.test(t.error.pveMessage ?? "")) {
    return err(pve(`convert VM ${vmid} on ${host} to a template`, t.error));
  }
  steps.push("template");
  return ok({ vmid, host, steps });
}

/** Deletes an old template VM (no clone of it may be in use; the caller decides). */
export async function removeTemplate(
  client: PveClient,
  t: BuiltTemplate,
  deadlineMs?: number,
): Promise<Result<void, TemplateBuildError>> {
  const d = await client.runTask(
    client.deleteVm(t.host, t.vmid),
    `delete old template ${t.vmid}`,
    deadlineMs,
  );
  if (!d.ok && d.error.kind !== "notFound") return err(pve(`delete template ${t.vmid}`, d.error));
  return ok(undefined);
}

/** Whether `name` is one of this MachineTemplate's template VMs (any digest). */
export function isTemplateOf(template: MachineTemplate, name: string): boolean {
  return name.startsWith(imageTemplatePrefix(template));
}

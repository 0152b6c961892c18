/**
 * The Proxmox side of templates built from cloud images: the daemon's ImageTemplatePort over
 * one PVE cluster (survey, build, remove) and the template locality of an image template (the
 * hosts with a finished template VM of today's digest, or every build host when the template's
 * storage is shared). The build steps themselves are in template_build.ts.
 *
 * May import: core/, adapters/proxmox/, daemon/ports/.
 */
import {
  type BuiltTemplate,
  imageBuildHosts,
  imageSource,
  templateFor,
} from "../../core/image_template.ts";
import type { MachineTemplate, Provider } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import type {
  ImageTemplatePort,
  TemplateJobError,
  TemplateSurvey,
} from "../../daemon/ports/image_templates.ts";
import type { PveClient } from "./client.ts";
import { buildImageTemplate, builtTemplates, removeTemplate } from "./template_build.ts";

/** Template builds over one PVE cluster (see the file comment). */
export class ProxmoxImageTemplates implements ImageTemplatePort {
  readonly #client: PveClient;
  readonly #provider: Provider;
  readonly #deadlineMs: number;
  /** VMIDs chosen by builds of this process, so concurrent builds do not collide. */
  readonly #avoid = new Set<number>();

  constructor(client: PveClient, provider: Provider, deadlineMs = 30 * 60_000) {
    this.#client = client;
    this.#provider = provider;
    this.#deadlineMs = deadlineMs;
  }

  #range(): { lower: number; upper: number } | undefined {
    return this.#provider.templateVmidRange;
  }

  async survey(template: MachineTemplate): Promise<Result<TemplateSurvey, TemplateJobError>> {
    const src = imageSource(template);
    const range = this.#range();
    if (!src || !range) {
      return err({
        kind: "ConfigInvalid",
        message: `MachineTemplate ${template.name}: an image source needs the Provider's ` +
          `templateVmidRange`,
        retry: false,
      });
    }
    const vms = await this.#client.resourcesVm();
    if (!vms.ok) return err({ kind: "Pve", message: vms.error.message, retry: true });
    const storages = await this.#client.resourcesStorage();
    if (!storages.ok) return err({ kind: "Pve", message: storages.error.message, retry: true });
    const shared = storages.value.some((s) => s.storage === src.storage && s.shared);
    const hosts = this.#provider.hosts.map((h) => h.name);
    return ok({
      built: builtTemplates(vms.value, range),
      buildHosts: imageBuildHosts(src, hosts, shared),
      shared,
    });
  }

  async build(
    template: MachineTemplate,
    host: string,
  ): Promise<Result<{ vmid: number; steps: string[] }, TemplateJobError>> {
    const range = this.#range();
    if (!range) {
      return err({ kind: "ConfigInvalid", message: "no templateVmidRange", retry: false });
    }
    const r = await buildImageTemplate({
      client: this.#client,
      template,
      host,
      range,
      tag: this.#provider.managedTag,
      deadlineMs: this.#deadlineMs,
      avoid: this.#avoid,
    });
    return r.ok ? ok({ vmid: r.value.vmid, steps: r.value.steps }) : err(r.error);
  }

  async remove(t: BuiltTemplate): Promise<Result<void, TemplateJobError>> {
    const r = await removeTemplate(this.#client, t, this.#deadlineMs);
    return r.ok ? r : err(r.error);
  }

  /** Hosts that can clone `template` now: see the file comment. */
  async templateHosts(template: MachineTemplate): Promise<Result<string[], TemplateJobError>> {
    const s = await this.survey(template);
    if (!s.ok) return s;
    const hosts = imageSource(template)?.perHost ?? this.#provider.hosts.map((h) => h.name);
    return ok(
      this.#provider.hosts.map((h) => h.name).filter((h) =>
        hosts.includes(h) && templateFor(template, h, s.value.built, s.value.shared) !== undefined
      ),
    );
  }
}

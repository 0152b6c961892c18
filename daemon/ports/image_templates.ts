/**
 * The port through which the daemon keeps template VMs built from cloud images
 * (MachineTemplate `source.image`): what is built where, one resumable build on one host, and
 * the removal of an old template. Declared here, where daemon/template_jobs.ts consumes it;
 * implemented by adapters/proxmox/image_templates.ts.
 *
 * May import: core/.
 */
import type { BuiltTemplate } from "../../core/image_template.ts";
import type { MachineTemplate } from "../../core/model.ts";
import type { Result } from "../../core/result.ts";

/** What the Provider holds for one image template. */
export type TemplateSurvey = {
  /** Every template VM proxscale built on this Provider (any MachineTemplate, any digest). */
  built: BuiltTemplate[];
  /** Hosts that must hold a template VM of today's digest (one when its storage is shared). */
  buildHosts: string[];
  /** Whether the template's storage is shared (one template serves every host). */
  shared: boolean;
};

/** A build or removal that did not finish; `retry: false` when only a config change helps. */
export type TemplateJobError = { kind: string; message: string; retry: boolean };

/** Template VMs built from cloud images on one Provider. */
export interface ImageTemplatePort {
  /** The template VMs present and the hosts `template` must be built on. */
  survey(template: MachineTemplate): Promise<Result<TemplateSurvey, TemplateJobError>>;
  /** Runs the build steps still missing on `host`; returns the template VMID and steps done. */
  build(
    template: MachineTemplate,
    host: string,
  ): Promise<Result<{ vmid: number; steps: string[] }, TemplateJobError>>;
  /** Deletes an old template VM (a template VM already gone is success). */
  remove(t: BuiltTemplate): Promise<Result<void, TemplateJobError>>;
}

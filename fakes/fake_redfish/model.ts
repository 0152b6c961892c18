/**
 * The fake BMC's state: ComputerSystems with power that changes over time (PoweringOn for a
 * while, then On), a one-time or continuous boot source override consumed at power-on, one
 * Manager per System with a CD virtual media slot that fetches the inserted image once, and
 * listeners told about every completed power change (what the machine booted from, and the
 * image bytes it saw) so a fake cluster can start a kubelet for it, or a fake Proxmox host can
 * follow its BMC. Written from the DMTF Redfish schemas, independent of proxscale.
 *
 * May import: fakes/.
 */
import { fetchImage, type ImageFetch } from "./image_fetch.ts";

/** Redfish PowerState. */
export type FakePowerState = "On" | "Off" | "PoweringOn" | "PoweringOff";

/** One system's size and identity as a test asks for it. */
export type SystemSpec = {
  /** The System's Id (default node<position>), e.g. a Proxmox host's name. */
  id?: string;
  cpus?: number;
  memoryGiB?: number;
  uuid?: string;
  powerState?: "On" | "Off";
};

/** A virtual media slot (one CD per System's Manager). */
export type FakeMedia = {
  inserted: boolean;
  image: string;
  /** Every fetch the BMC made of an inserted image, oldest first. */
  fetches: ImageFetch[];
};

/** One ComputerSystem. */
export type FakeSystem = {
  id: string;
  uuid: string;
  cpus: number;
  memoryGiB: number;
  powerState: FakePowerState;
  boot: { enabled: "Disabled" | "Once" | "Continuous"; target: string };
  /** Bumped on every change; the ETag is W/"<version>". */
  version: number;
  media: FakeMedia;
  /** What the last completed power-on booted from (`Cd`, `Hdd`, `Pxe`). */
  bootedFrom?: string;
  /** How many power-ons completed. */
  boots: number;
  timer?: ReturnType<typeof setTimeout>;
};

/** A completed power change, as listeners see it. */
export type PowerEvent = {
  system: string;
  uuid: string;
  state: "On" | "Off";
  /** On only: the boot source used, and the media bytes when that was the CD. */
  bootSource?: string;
  image?: { url: string; bytes: Uint8Array };
};

/** Timing and behaviour knobs. */
export type BmcModelOptions = {
  powerOnDelayMs?: number;
  powerOffDelayMs?: number;
  /** Extra time a virtual media insert task takes after its fetch. */
  taskDelayMs?: number;
  /** CA to verify image URLs against (absent: not verified). */
  imageCaPem?: string;
};

/** Why a request to the model failed: HTTP status, a Base registry message id and words. */
export type ModelError = { status: number; messageId: string; message: string };

const ALLOWED_RESETS = ["On", "ForceOff", "GracefulShutdown", "ForceRestart", "GracefulRestart"];
/** Boot override targets the fake accepts. */
export const BOOT_TARGETS = ["None", "Pxe", "Cd", "Hdd", "BiosSetup"];

/** All systems of one fake BMC service. */
export class BmcModel {
  readonly systems = new Map<string, FakeSystem>();
  readonly opts: Required<Omit<BmcModelOptions, "imageCaPem">> & { imageCaPem?: string };
  readonly #listeners = new Set<(e: PowerEvent) => void>();

  constructor(specs: SystemSpec[], opts: BmcModelOptions = {}) {
    this.opts = {
      powerOnDelayMs: opts.powerOnDelayMs ?? 300,
      powerOffDelayMs: opts.powerOffDelayMs ?? 200,
      taskDelayMs: opts.taskDelayMs ?? 0,
      ...(opts.imageCaPem ? { imageCaPem: opts.imageCaPem } : {}),
    };
    specs.forEach((s, i) => {
      const id = s.id ?? `node${i + 1}`;
      this.systems.set(id, {
        id,
        uuid: s.uuid ?? `6f1c0e52-8d0a-4b7e-9c3a-${(i + 1).toString(16).padStart(12, "0")}`,
        cpus: s.cpus ?? 16,
        memoryGiB: s.memoryGiB ?? 64,
        powerState: s.powerState ?? "Off",
        boot: { enabled: "Disabled", target: "None" },
        version: 1,
        media: { inserted: false, image: "", fetches: [] },
        boots: 0,
      });
    });
  }

  /** Calls `fn` after every completed power change; returns the unsubscribe. */
  onPower(fn: (e: PowerEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Sets a system's power at once, as a hand on the power button would (test control). */
  setPower(id: string, state: "On" | "Off"): void {
    const s = this.#must(id);
    clearTimeout(s.timer);
    if (state === "On") this.#completeOn(s);
    else this.#completeOff(s);
  }

  /** The system by Id. */
  system(id: string): FakeSystem | undefined {
    return this.systems.get(id);
  }

  /** `ComputerSystem.Reset`; power changes complete after the configured delays. */
  reset(id: string, type: unknown): ModelError | undefined {
    const s = this.systems.get(id);
    if (!s) return notFound(`System ${id}`);
    if (typeof type !== "string" || !ALLOWED_RESETS.includes(type)) {
      return {
        status: 400,
        messageId: "Base.1.8.ActionParameterValueNotInList",
        message: `The value '${
          String(type)
        }' for the parameter ResetType is not in the list of acceptable values.`,
      };
    }
    const on = s.powerState === "On" || s.powerState === "PoweringOn";
    if (type === "On") {
      if (on) return conflict("The system is already powered on.");
      this.#transition(s, "PoweringOn", this.opts.powerOnDelayMs, () => this.#completeOn(s));
    } else if (type === "ForceOff") {
      if (!on) return conflict("The system is already powered off.");
      clearTimeout(s.timer);
      this.#completeOff(s);
    } else if (type === "GracefulShutdown") {
      if (!on) return conflict("The system is already powered off.");
      this.#transition(s, "PoweringOff", this.opts.powerOffDelayMs, () => this.#completeOff(s));
    } else {
      if (!on) return conflict("The system is powered off; use ResetType On.");
      clearTimeout(s.timer);
      this.#completeOff(s);
      this.#transition(s, "PoweringOn", this.opts.powerOnDelayMs, () => this.#completeOn(s));
    }
    return undefined;
  }

  /** PATCH of the Boot property. */
  patchBoot(id: string, boot: unknown): ModelError | undefined {
    const s = this.systems.get(id);
    if (!s) return notFound(`System ${id}`);
    if (typeof boot !== "object" || boot === null) return badProp("Boot");
    const b = boot as Record<string, unknown>;
    const enabled = b.BootSourceOverrideEnabled;
    const target = b.BootSourceOverrideTarget;
    if (enabled !== undefined && !["Disabled", "Once", "Continuous"].includes(String(enabled))) {
      return badProp("BootSourceOverrideEnabled");
    }
    if (target !== undefined && !BOOT_TARGETS.includes(String(target))) {
      return badProp("BootSourceOverrideTarget");
    }
    if (enabled !== undefined) s.boot.enabled = enabled as FakeSystem["boot"]["enabled"];
    if (target !== undefined) s.boot.target = String(target);
    s.version++;
    return undefined;
  }

  /** `VirtualMedia.InsertMedia`: fetches the image once; resolves when the fetch ended. */
  async insertMedia(id: string, body: Record<string, unknown>): Promise<ModelError | undefined> {
    const s = this.systems.get(id);
    if (!s) return notFound(`System ${id}`);
    const image = body.Image;
    if (typeof image !== "string" || !/^https?:\/\//.test(image)) {
      return {
        status: 400,
        messageId: "Base.1.8.PropertyValueFormatError",
        message: "The value for the property Image is not an http(s) URL.",
      };
    }
    if (s.media.inserted) {
      return conflict("A virtual media image is already inserted; eject it first.");
    }
    const f = await fetchImage(image, this.opts.imageCaPem ? { caPem: this.opts.imageCaPem } : {});
    s.media.fetches.push(f);
    if (f.error) {
      return {
        status: 400,
        messageId: "Base.1.8.ResourceAtUriUnauthorized",
        message: `The image at ${redact(image)} could not be read: ${f.error}.`,
      };
    }
    s.media.inserted = true;
    s.media.image = image;
    s.version++;
    return undefined;
  }

  /** `VirtualMedia.EjectMedia`. */
  ejectMedia(id: string): ModelError | undefined {
    const s = this.systems.get(id);
    if (!s) return notFound(`System ${id}`);
    s.media.inserted = false;
    s.media.image = "";
    s.version++;
    return undefined;
  }

  /** Stops pending transitions (server close). */
  stop(): void {
    for (const s of this.systems.values()) clearTimeout(s.timer);
  }

  #transition(s: FakeSystem, state: FakePowerState, ms: number, done: () => void): void {
    clearTimeout(s.timer);
    s.powerState = state;
    s.version++;
    s.timer = setTimeout(done, ms);
  }

  #completeOn(s: FakeSystem): void {
    s.powerState = "On";
    s.boots++;
    let source = "Hdd";
    if (s.boot.enabled !== "Disabled" && s.boot.target !== "None") source = s.boot.target;
    if (s.boot.enabled === "Once") s.boot = { enabled: "Disabled", target: "None" };
    s.bootedFrom = source;
    s.version++;
    const last = s.media.fetches.at(-1);
    const image = source === "Cd" && s.media.inserted && last && !last.error
      ? { url: s.media.image, bytes: last.bytes }
      : undefined;
    this.#emit({
      system: s.id,
      uuid: s.uuid,
      state: "On",
      bootSource: source,
      ...(image ? { image } : {}),
    });
  }

  #completeOff(s: FakeSystem): void {
    s.powerState = "Off";
    s.version++;
    this.#emit({ system: s.id, uuid: s.uuid, state: "Off" });
  }

  #emit(e: PowerEvent): void {
    for (const fn of this.#listeners) {
      try {
        fn(e);
      } catch { /* a listener's bug must not break the BMC */ }
    }
  }

  #must(id: string): FakeSystem {
    const s = this.systems.get(id);
    if (!s) throw new Error(`no system ${id}`);
    return s;
  }
}

/** The URL without its query (a one-time token must not land in a message). */
function redact(url: string): string {
  return url.split("?")[0]!;
}

function notFound(what: string): ModelError {
  return {
    status: 404,
    messageId: "Base.1.8.ResourceMissingAtURI",
    message: `${what} does not exist.`,
  };
}

function conflict(message: string): ModelError {
  return { status: 409, messageId: "Base.1.8.ResourceInUse", message };
}

function badProp(p: string): ModelError {
  return {
    status: 400,
    messageId: "Base.1.8.PropertyValueNotInList",
    message: `The value for the property ${p} is not in the list of acceptable values.`,
  };
}

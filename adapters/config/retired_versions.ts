/**
 * Configuration schema versions proxscale no longer reads, and how `proxscale migrate` lifts a
 * file of one to the current version (CURRENT_CONFIG_VERSION). A configuration file names its
 * version in `apiVersion` (absent: the current one).
 *
 * Retired: `proxscale.io/v1alpha0`, the first draft. It differs from v1alpha1 in four names:
 * top-level `templates` and `pools` (now `machineTemplates` and `nodePools`), a NodePool's
 * `template` (now `machineTemplate`) and `settings.orphanGracePeriodSeconds`, a number of
 * seconds (now `settings.orphanGracePeriod`, a duration). Everything else is unchanged.
 *
 * May import: core/.
 */
import { err, ok, type Result } from "../../core/result.ts";

/** The version this proxscale reads. */
export const CURRENT_CONFIG_VERSION = "proxscale.io/v1alpha1";
/** Versions `migrate` upgrades, oldest first. */
export const RETIRED_CONFIG_VERSIONS = ["proxscale.io/v1alpha0"] as const;

type Any = Record<string, unknown>;
const isMap = (v: unknown): v is Any => typeof v === "object" && v !== null && !Array.isArray(v);

/** Whether a parsed file declares a retired version. */
export function isRetiredVersion(doc: unknown): boolean {
  return isMap(doc) &&
    (RETIRED_CONFIG_VERSIONS as readonly unknown[]).includes(doc.apiVersion);
}

/**
 * The file upgraded to CURRENT_CONFIG_VERSION, with a note per renamed field; a field in both
 * its old and new spelling is a problem (which one was meant cannot be known).
 */
export function upgradeConfig(doc: unknown): Result<{ doc: Any; notes: string[] }, string[]> {
  if (!isMap(doc) || doc.apiVersion !== "proxscale.io/v1alpha0") {
    return err([`not a ${RETIRED_CONFIG_VERSIONS.join(" or ")} configuration`]);
  }
  const out: Any = { ...doc, apiVersion: CURRENT_CONFIG_VERSION };
  const notes: string[] = [];
  const problems: string[] = [];
  const rename = (o: Any, from: string, to: string, where: string) => {
    if (!(from in o)) return;
    if (to in o) {
      problems.push(`${where}${from} and ${where}${to} are both set; keep one`);
      return;
    }
    o[to] = o[from];
    delete o[from];
    notes.push(`${where}${from} is now ${where}${to}`);
  };
  rename(out, "templates", "machineTemplates", "");
  rename(out, "pools", "nodePools", "");
  if (Array.isArray(out.nodePools)) {
    out.nodePools = out.nodePools.map((p, i) => {
      if (!isMap(p) || !isMap(p.spec)) return p;
      const spec = { ...p.spec };
      rename(spec, "template", "machineTemplate", `nodePools[${i}].spec.`);
      return { ...p, spec };
    });
  }
  if (isMap(out.settings) && "orphanGracePeriodSeconds" in out.settings) {
    const s = { ...out.settings };
    const v = s.orphanGracePeriodSeconds;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      problems.push("settings.orphanGracePeriodSeconds must be a whole number of seconds");
    } else if ("orphanGracePeriod" in s) {
      problems.push(
        "settings.orphanGracePeriodSeconds and settings.orphanGracePeriod are both set; keep one",
      );
    } else {
      s.orphanGracePeriod = `${v}s`;
      delete s.orphanGracePeriodSeconds;
      notes.push(
        "settings.orphanGracePeriodSeconds is now settings.orphanGracePeriod (a duration)",
      );
    }
    out.settings = s;
  }
  return problems.length ? err(problems) : ok({ doc: out, notes });
}

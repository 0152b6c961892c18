/**
 * The config patch `proxscale advise` prints and `proxscale sim --patch` applies: a few knobs of
 * the normalised configuration by NodePool name, in the spelling of the YAML config:
 *
 *   nodePools:
 *     <pool>:
 *       scaleUp: { forecast: { enabled: true, maxNodes: 3, maxError: 0.2 } }
 *       scaleDown: { stabilizationWindow: 20s }
 *       disruption: { consolidateAfter: 2m }        # or Never
 *       limits: { cpu: 32, memory: 128Gi, nodes: 16 } # each one given replaces the pool's
 *   machineTemplates:
 *     <template>: { shapes: [{ cpu: 8, memory: 16Gi }] }  # the VM sizes it offers
 *   settings: { batchIdle: 1s, batchMax: 10s }
 *
 * May import: core/.
 */
import type { Config, Shape } from "../../core/model.ts";
import { parseQuantity } from "../../core/quantity.ts";
import { sizeName } from "../../core/shapes.ts";
import { formatDuration, parseDuration } from "../../core/duration.ts";
import { err, ok, type Result } from "../../core/result.ts";

/** One pool's knobs. */
export type PoolPatch = {
  scaleUp?: { forecast?: { enabled: boolean; maxNodes?: number; maxError?: number } };
  scaleDown?: { stabilizationWindow?: string };
  disruption?: { consolidateAfter?: string };
  limits?: { cpu?: string; memory?: string; nodes?: number };
};

/** The patch: pools and templates by name, and settings. */
export type ConfigPatch = {
  nodePools?: Record<string, PoolPatch>;
  machineTemplates?: Record<string, { shapes: { cpu: number | string; memory: string }[] }>;
  settings?: { batchIdle?: string; batchMax?: string };
};

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** `config` with `patch` applied; an error names the first field it cannot apply. */
export function applyConfigPatch(config: Config, patch: unknown): Result<Config, string> {
  if (!isMap(patch)) return err("the patch must be a mapping");
  const out: Config = { ...config, settings: { ...config.settings } };
  for (const k of Object.keys(patch)) {
    if (k !== "nodePools" && k !== "settings" && k !== "machineTemplates") {
      return err(`unknown patch field "${k}"`);
    }
  }
  if (patch.settings !== undefined) {
    if (!isMap(patch.settings)) return err("settings must be a mapping");
    for (const [k, v] of Object.entries(patch.settings)) {
      if (k !== "batchIdle" && k !== "batchMax") return err(`unknown settings field "${k}"`);
      const d = parseDuration(String(v));
      if (!d.ok || d.value === null) return err(`settings.${k}: ${d.ok ? "Never" : d.error}`);
      out.settings[k] = d.value;
    }
  }
  if (patch.machineTemplates !== undefined) {
    if (!isMap(patch.machineTemplates)) return err("machineTemplates must be a mapping of names");
    const templates = [...out.machineTemplates];
    for (const [name, t] of Object.entries(patch.machineTemplates)) {
      const i = templates.findIndex((x) => x.name === name);
      if (i < 0) return err(`machineTemplates.${name}: no such MachineTemplate`);
      if (!isMap(t) || !Array.isArray(t.shapes) || t.shapes.length === 0) {
        return err(`machineTemplates.${name}.shapes must be a list of { cpu, memory }`);
      }
      const shapes: Shape[] = [];
      for (const sh of t.shapes) {
        if (!isMap(sh)) return err(`machineTemplates.${name}.shapes: { cpu, memory } expected`);
        const cpu = parseQuantity(String(sh.cpu), 1000);
        const memory = parseQuantity(String(sh.memory), 1);
        if (!cpu.ok || !memory.ok) return err(`machineTemplates.${name}.shapes: bad quantity`);
        const millis = cpu.value;
        shapes.push({ name: sizeName(millis, memory.value), cpu: millis, memory: memory.value });
      }
      // GPU shapes stay for GPU pods; the plain sizes are replaced, flexible sizing dropped.
      const { flexible: _f, ...rest } = templates[i]!;
      templates[i] = { ...rest, shapes: [...shapes, ...rest.shapes.filter((x) => x.gpus)] };
    }
    out.machineTemplates = templates;
  }
  if (patch.nodePools !== undefined) {
    if (!isMap(patch.nodePools)) return err("nodePools must be a mapping of pool names");
    const pools = [...out.nodePools];
    for (const [name, p] of Object.entries(patch.nodePools)) {
      const i = pools.findIndex((x) => x.name === name);
      if (i < 0) return err(`nodePools.${name}: no such NodePool`);
      if (!isMap(p)) return err(`nodePools.${name} must be a mapping`);
      let pool = { ...pools[i]! };
      for (const [section, body] of Object.entries(p)) {
        if (!isMap(body)) return err(`nodePools.${name}.${section} must be a mapping`);
        if (section === "scaleUp") {
          const f = body.forecast;
          if (!isMap(f) || typeof f.enabled !== "boolean") {
            return err(`nodePools.${name}.scaleUp.forecast.enabled must be true or false`);
          }
          const { forecast: _, ...up } = pool.scaleUp;
          pool = {
            ...pool,
            scaleUp: f.enabled
              ? {
                ...up,
                forecast: {
                  maxNodes: typeof f.maxNodes === "number" ? f.maxNodes : 3,
                  maxError: typeof f.maxError === "number" ? f.maxError : 0.2,
                  horizon: null,
                },
              }
              : up,
          };
        } else if (section === "scaleDown") {
          const d = parseDuration(String(body.stabilizationWindow));
          if (!d.ok || d.value === null) {
            return err(`nodePools.${name}.scaleDown.stabilizationWindow: not a duration`);
          }
          pool = { ...pool, scaleDown: { ...pool.scaleDown, stabilizationWindow: d.value } };
        } else if (section === "disruption") {
          const d = parseDuration(String(body.consolidateAfter), true);
          if (!d.ok) return err(`nodePools.${name}.disruption.consolidateAfter: ${d.error}`);
          pool = { ...pool, disruption: { ...pool.disruption, consolidateAfter: d.value } };
        } else if (section === "limits") {
          const limits = { ...pool.limits };
          for (const [k, v] of Object.entries(body)) {
            if (k === "cpu" || k === "memory") {
              const q = parseQuantity(String(v), k === "cpu" ? 1000 : 1);
              if (!q.ok) return err(`nodePools.${name}.limits.${k}: ${q.error}`);
              limits[k] = q.value;
            } else if (k === "nodes") {
              if (!Number.isInteger(v) || (v as number) < 0) {
                return err(`nodePools.${name}.limits.nodes must be a whole number >= 0`);
              }
              limits.nodes = v as number;
            } else return err(`nodePools.${name}.limits: unknown field "${k}"`);
          }
          pool = { ...pool, limits };
        } else return err(`nodePools.${name}: unknown field "${section}"`);
      }
      pools[i] = pool;
    }
    out.nodePools = pools;
  }
  return ok(out);
}

/** A duration as the patch writes it. */
export function patchDuration(ms: number | null): string {
  return formatDuration(ms);
}

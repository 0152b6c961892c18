/**
 * The terminal rendering of a report: one row per policy with node-hours, the ratio to the
 * fluid bound, cost, pending percentiles, pods never scheduled, utilisation and churn, then the
 * targets in plain words.
 *
 * May import: sim/report/.
 */
import type { SimReport } from "./compare.ts";

/**
 * Words on the bounds' GPU dimension, when the trace's pods ask for extended resources: the
 * units one node offers at most and the demand in unit-hours; empty otherwise.
 */
export function gpuBoundWords(r: SimReport): string {
  const e = r.bound.extended;
  if (!e) return "";
  const parts = Object.keys(e.perNode).map((k) =>
    `${k}: ${e.demandHours[k]!.toFixed(1)} unit-hours demanded, at most ${e.perNode[k]} per node`
  );
  return `; both bounds count GPUs (${parts.join("; ")})`;
}

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  ).join("\n");
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

/** The report as text for a terminal. */
export function renderReportTable(r: SimReport): string {
  const head = [
    `trace ${r.trace.name} (${r.trace.pods} pods, ${
      f1(r.trace.hours)
    } h, digest ${r.trace.digest}); config ${r.config.digest}; seed ${r.world.seed}`,
    `shapes ${
      r.config.shapes.join(", ")
    } on ${r.config.hosts} hosts; boot delay (median clone+boot+join) ${
      f1(r.world.bootDelaySeconds)
    } s; departure ${r.world.departure}; scheduler ${r.world.scoring}`,
    `fluid bound ${f1(r.bound.nodeHours)} node-hours (integer ${
      f1(r.bound.nodeHoursInteger)
    }, peak ${r.bound.peakNodes} nodes), cost bound ${f2(r.bound.cost)}` +
    (r.bound.podsTooLarge ? `; ${r.bound.podsTooLarge} pods fit no shape` : ""),
    `bin-packing bound ${
      f1(r.binBound.nodeHours)
    } node-hours (Martello-Toth L2 at every instant, ` +
    `peak ${r.binBound.peakNodes} nodes)${gpuBoundWords(r)}`,
    "",
  ];
  const gpu = r.policies.some((p) => p.summary.utilization.gpu !== undefined);
  const rows = [[
    "POLICY",
    "NODE-H",
    "EMPTY-H",
    "xFLUID",
    "xBIN",
    "COST",
    "xCOST",
    "PEND p50",
    "p95",
    "p99",
    "max",
    "NEVER",
    "UTIL cpu",
    "mem",
    ...(gpu ? ["gpu"] : []),
    "VMs +",
    "-",
    "EVICT",
  ]];
  for (const p of r.policies) {
    const s = p.summary;
    rows.push([
      p.name,
      f1(s.nodeHours),
      f1(s.nodeHoursEmpty),
      f2(p.nodeHoursToFluidBound),
      f2(p.nodeHoursToBinBound),
      f2(s.cost),
      f2(p.costToCostBound),
      `${f1(s.pendingSeconds.p50)}s`,
      `${f1(s.pendingSeconds.p95)}s`,
      `${f1(s.pendingSeconds.p99)}s`,
      `${f1(s.pendingSeconds.max)}s`,
      String(s.podsNeverScheduled),
      pct(s.utilization.cpu),
      pct(s.utilization.memory),
      ...(gpu ? [pct(s.utilization.gpu ?? 0)] : []),
      String(s.vmCreates),
      String(s.vmDeletes),
      String(s.evictions),
    ]);
  }
  const out = [...head, pad(rows)];
  // Per capacity type, only when the world has host classes.
  const classRows = [[
    "POLICY",
    "CLASS",
    "COST",
    "NODE-H",
    "EVICT",
    "RECLAIMS",
    "EVICT BY RECLAIM",
  ]];
  for (const p of r.policies) {
    for (const [cls, c] of Object.entries(p.summary.byCapacityType ?? {})) {
      classRows.push([
        p.name,
        cls,
        f2(c.cost),
        f1(c.nodeHours),
        String(c.evictions),
        String(c.reclaims),
        String(c.reclaimEvictions),
      ]);
    }
  }
  if (classRows.length > 1) out.push("", pad(classRows));
  // Host power, only when the configuration manages it.
  const powerRows = [["POLICY", "HOSTS", "HOST-H", "HOST-H SAVED", "POWER-ONS", "POWER-OFFS"]];
  for (const p of r.policies) {
    const h = p.summary.hostPower;
    if (!h) continue;
    powerRows.push([
      p.name,
      String(h.hosts),
      f1(h.hostHours),
      f1(h.hostHoursSaved),
      String(h.powerOns),
      String(h.powerOffs),
    ]);
  }
  if (powerRows.length > 1) out.push("", pad(powerRows));
  const t = r.targets.proxscale;
  if (t && !t.podsRan) {
    out.push(
      "",
      "proxscale: no pod ran, so no target is met (fluid bound: not met; p95 pending: not met)",
    );
  } else if (t) {
    out.push(
      "",
      `proxscale: ${f2(t.nodeHoursToFluidBound)}x the fluid bound (target <= ${
        f2(r.targets.fluidRatioTarget)
      }: ${t.withinFluidTarget ? "met" : "not met"}), ${
        f2(t.nodeHoursToBinBound)
      }x the bin-packing bound; ` +
        `p95 pending ${f1(t.pendingP95Seconds)} s (target <= ${
          f1(r.targets.pendingP95TargetSeconds)
        } s: ${t.meetsPendingTarget ? "met" : "not met"})` +
        (t.belowClusterAutoscaler === undefined
          ? ""
          : `; ${
            t.belowClusterAutoscaler ? "below" : "not below"
          } the Cluster-Autoscaler-like baseline`),
    );
  }
  return out.join("\n");
}

/**
 * The self-contained HTML report: summary table, targets, and inline SVG line charts (nodes
 * over time per policy, pending pods, CPU and memory utilisation, cumulative cost). No script,
 * no external file, no font or stylesheet download: it opens offline and prints.
 *
 * May import: sim/report/.
 */
import type { SimReport } from "./compare.ts";
import { timeTicks } from "./chart_axis.ts";
import { gpuBoundWords } from "./table.ts";

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

function num(x: number, d = 1): string {
  return Number.isFinite(x) ? x.toFixed(d) : "0";
}

/** A "nice" axis maximum: 1, 2 or 5 times a power of ten at or above `x`. */
function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/**
 * One series. `dash` is an SVG dash pattern (the fluid bound "4 3"; baselines each their own, so
 * a line hidden under another still shows); `front` lines are drawn last and thicker.
 */
type Line = {
  name: string;
  color: string;
  values: number[];
  dashed?: boolean;
  dash?: string;
  front?: boolean;
};

/** Dash patterns for the baselines, in policy order (proxscale is solid and drawn on top). */
const DASHES = ["7 3", "2 2", "9 3 2 3", "5 5"];

/** At most this many hover bands per chart, each naming every line's value at its time. */
const HOVER_BANDS = 120;

/** One line chart as an <svg> element. */
export function lineChart(
  title: string,
  xs: readonly number[],
  lines: readonly Line[],
  unit: string,
  fixedMax?: number,
): string {
  const W = 760;
  const H = 260;
  const L = 56;
  const R = 16;
  const T = 28;
  const B = 36;
  const xMax = xs.length ? xs[xs.length - 1]! : 1;
  const yMax = fixedMax ?? niceMax(Math.max(0, ...lines.flatMap((l) => l.values)));
  const px = (x: number) => L + (xMax > 0 ? (x / xMax) * (W - L - R) : 0);
  const py = (y: number) => T + (H - T - B) * (1 - Math.min(y, yMax) / yMax);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${
      esc(title)
    }">`,
    `<title>${esc(title)}</title>`,
    `<text x="${L}" y="18" class="ct">${esc(title)}</text>`,
  );
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const y = py(v);
    parts.push(
      `<line x1="${L}" y1="${num(y)}" x2="${W - R}" y2="${num(y)}" class="grid"/>`,
      `<text x="${L - 6}" y="${num(y + 4)}" text-anchor="end" class="ax">${
        esc(fmtTick(v, unit))
      }</text>`,
    );
  }
  for (const tick of timeTicks(xMax)) {
    parts.push(
      `<text x="${num(px(tick.hours))}" y="${H - B + 16}" text-anchor="middle" class="ax">${
        esc(tick.label)
      }</text>`,
    );
  }
  parts.push(
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" class="axis"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" class="axis"/>`,
  );
  // Back lines first, front lines (proxscale) last, so no baseline hides it.
  const order = [...lines.filter((l) => !l.front), ...lines.filter((l) => l.front)];
  for (const l of order) {
    if (l.values.length === 0) continue;
    const pts = l.values.map((v, i) => `${num(px(xs[i] ?? 0))},${num(py(v))}`).join(" ");
    const dash = l.dash ?? (l.dashed ? "4 3" : undefined);
    parts.push(
      `<polyline fill="none" stroke="${l.color}" stroke-width="${l.front ? 2.2 : 1.4}"${
        dash ? ` stroke-dasharray="${dash}"` : ""
      } points="${pts}"><title>${esc(l.name)}</title></polyline>`,
    );
  }
  // Hover values without script: transparent bands whose tooltip lists every line's value.
  const n = xs.length;
  if (n > 0) {
    const per = Math.max(1, Math.ceil(n / HOVER_BANDS));
    for (let i = 0; i < n; i += per) {
      const x0 = px(xs[i]!);
      const x1 = px(xs[Math.min(n - 1, i + per)]!);
      const at = xs[i]!;
      const vals = lines.map((l) => `${l.name}: ${fmtValue(l.values[i] ?? 0, unit)}`);
      parts.push(
        `<rect class="hv" x="${num(x0)}" y="${T}" width="${num(Math.max(1, x1 - x0))}" height="${
          H - T - B
        }"><title>${esc(`${fmtHour(at)}\n${vals.join("\n")}`)}</title></rect>`,
      );
    }
  }
  let lx = L + 8;
  for (const l of lines) {
    parts.push(
      `<rect x="${lx}" y="${H - 14}" width="10" height="10" fill="${l.color}"/>`,
      `<text x="${lx + 14}" y="${H - 5}" class="ax">${esc(l.name)}</text>`,
    );
    lx += 24 + l.name.length * 7;
  }
  parts.push("</svg>");
  return parts.join("");
}

/** A sample time for a tooltip: "t = 2d 5.5h". */
function fmtHour(h: number): string {
  const d = Math.floor(h / 24);
  const rest = h - d * 24;
  return `t = ${d > 0 ? `${d}d ` : ""}${num(rest, rest % 1 === 0 ? 0 : 2)}h`;
}

/** A value for a tooltip, in the chart's unit. */
function fmtValue(v: number, unit: string): string {
  if (unit === "%") return `${(v * 100).toFixed(1)}%`;
  if (unit === "$") return v.toFixed(2);
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function fmtTick(v: number, unit: string): string {
  if (unit === "%") return `${Math.round(v * 100)}%`;
  if (unit === "$") return v >= 100 ? v.toFixed(0) : v.toFixed(1);
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** The whole report as one HTML document. */
/** Forecast against actual demand (proxscale-forecast runs): CPU and memory, and when it acted. */
function forecastCharts(f: NonNullable<SimReport["forecast"]>): string {
  const chart = (title: string, actual: number[], predicted: number[], unit: string) => {
    const top = Math.max(0, ...actual, ...predicted);
    return lineChart(title, f.hours, [
      { name: "actual (bucket peak)", color: COLORS[0]!, values: actual, front: true },
      { name: "forecast (one bucket ahead)", color: COLORS[1]!, values: predicted, dash: "4 3" },
      {
        name: `forecast acting (model error <= ${num(f.maxError * 100, 0)}%)`,
        color: COLORS[2]!,
        values: f.on.map((o) => o * top * 0.05),
      },
    ], unit);
  };
  return `<p>Forecast against actual demand, ${
    f.bucketSeconds / 60
  }-minute buckets: the model acted in ${
    num(f.onFraction * 100, 0)
  }% of the buckets (the low green line), missing by ${
    num(f.cpuMaeWhileOn, 2)
  } cores on average while it did.</p>
${chart("Requested CPU (cores): forecast vs actual", f.actualCpu, f.predictedCpu, "n")}
${chart("Requested memory (GiB): forecast vs actual", f.actualMemory, f.predictedMemory, "n")}`;
}

export function renderReportHtml(r: SimReport): string {
  const names = r.policies.map((p) => p.name);
  const color = (i: number) => COLORS[i % COLORS.length]!;
  const xs = r.series.hours;
  const lines = (pick: (s: SimReport["series"]["byPolicy"][string]) => number[]) =>
    names.map((n, i) => {
      const front = n === "proxscale";
      const dash = front ? undefined : DASHES[
        names.filter((m) => m !== "proxscale").indexOf(n) %
        DASHES.length
      ];
      return {
        name: n,
        color: color(i),
        values: pick(r.series.byPolicy[n]!),
        front,
        ...(dash ? { dash } : {}),
      };
    });
  const gpu = r.policies.some((p) => p.summary.utilization.gpu !== undefined);
  const rows = r.policies.map((p) => {
    const s = p.summary;
    const gpuCell = gpu ? `<td>${num((s.utilization.gpu ?? 0) * 100, 0)}%</td>` : "";
    return `<tr><td>${esc(p.name)}</td><td>${num(s.nodeHours)}</td><td>${
      num(p.nodeHoursToFluidBound, 2)
    }</td><td>${num(p.nodeHoursToBinBound, 2)}</td><td>${num(s.cost, 2)}</td><td>${
      num(p.costToCostBound, 2)
    }</td><td>${num(s.pendingSeconds.p50)}</td><td>${num(s.pendingSeconds.p95)}</td><td>${
      num(s.pendingSeconds.p99)
    }</td><td>${num(s.pendingSeconds.max)}</td><td>${s.podsNeverScheduled}</td><td>${
      num(s.utilization.cpu * 100, 0)
    }%</td><td>${
      num(s.utilization.memory * 100, 0)
    }%</td>${gpuCell}<td>${s.vmCreates}</td><td>${s.vmDeletes}</td><td>${s.evictions}</td></tr>`;
  }).join("\n");
  const t = r.targets.proxscale;
  const targets = t && !t.podsRan
    ? `<p class="targets">proxscale: no pod ran, so no target is met.</p>`
    : t
    ? `<p class="targets">proxscale: <b>${
      num(t.nodeHoursToFluidBound, 3)
    }×</b> the fluid bound (target ≤ ${num(r.targets.fluidRatioTarget, 2)}: ${
      t.withinFluidTarget ? "met" : "not met"
    }), <b>${num(t.nodeHoursToBinBound, 3)}×</b> the bin-packing bound; p95 pending <b>${
      num(t.pendingP95Seconds)
    } s</b> (target ≤ ${num(r.targets.pendingP95TargetSeconds)} s: ${
      t.meetsPendingTarget ? "met" : "not met"
    })${
      t.belowClusterAutoscaler === undefined
        ? ""
        : `; ${
          t.belowClusterAutoscaler ? "below" : "not below"
        } the Cluster-Autoscaler-like baseline`
    }.</p>`
    : "";
  const descs = r.policies.map((p) => `<li><b>${esc(p.name)}</b>: ${esc(p.description)}</li>`).join(
    "",
  );
  const notes = r.trace.notes.map((n) => `<li>${esc(n)}</li>`).join("");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>proxscale simulation: ${esc(r.trace.name)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}
.chart{display:block;margin:18px 0;max-width:100%;height:auto}.ct{font-size:14px;font-weight:600}
.ax{font-size:11px;fill:#555}.hv{fill:transparent}.hv:hover{fill:rgba(0,0,0,.06)}.grid{stroke:#eee}.axis{stroke:#888}.targets{background:#f6f8fa;padding:8px}
small{color:#666}
</style></head><body>
<h1>proxscale simulation report</h1>
<p>Trace <b>${esc(r.trace.name)}</b> (${r.trace.pods} pods, ${num(r.trace.hours)} h, digest ${
    esc(r.trace.digest)
  }; ${esc(r.trace.source)}), config ${esc(r.config.digest)}, seed ${r.world.seed}.
Shapes ${
    esc(r.config.shapes.join(", "))
  } on ${r.config.hosts} Proxmox hosts; cost ${r.config.cost.perVcpuHour}/vCPU-hour + ${r.config.cost.perGiBHour}/GiB-hour.
Boot delay (median clone + boot + join) ${num(r.world.bootDelaySeconds)} s; departure model ${
    esc(r.world.departure)
  }; scheduler ${esc(r.world.scoring)}.</p>
<p>Fluid lower bound <b>${num(r.bound.nodeHours)}</b> node-hours (integer ${
    num(r.bound.nodeHoursInteger)
  }, peak ${r.bound.peakNodes} nodes); cost bound ${num(r.bound.cost, 2)}; bin-packing bound <b>${
    num(r.binBound.nodeHours)
  }</b> node-hours (Martello-Toth L2 at every instant, peak ${r.binBound.peakNodes} nodes)${
    esc(gpuBoundWords(r))
  }.</p>
${targets}
<table><thead><tr><th>policy</th><th>node-hours</th><th>× fluid</th><th>× bin-packing</th><th>cost</th><th>× cost bound</th><th>pending p50 s</th><th>p95</th><th>p99</th><th>max</th><th>never scheduled</th><th>CPU util</th><th>mem util</th>${
    gpu ? "<th>GPU util</th>" : ""
  }<th>VMs created</th><th>deleted</th><th>evictions</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<ul>${descs}</ul>
${notes ? `<p>Trace notes:</p><ul>${notes}</ul>` : ""}
${
    lineChart("Nodes (VMs) over time", xs, [
      ...lines((s) => s.nodes),
      { name: "fluid bound", color: "#777", values: r.series.fluidNodes, dashed: true },
    ], "n")
  }
${lineChart("Pending pods", xs, lines((s) => s.pending), "n")}
${lineChart("CPU requested / allocatable", xs, lines((s) => s.cpuUtil), "%", 1)}
${lineChart("Memory requested / allocatable", xs, lines((s) => s.memUtil), "%", 1)}
${
    gpu
      ? lineChart("GPU units requested / allocatable", xs, lines((s) => s.gpuUtil ?? []), "%", 1)
      : ""
  }
${lineChart("Cumulative cost", xs, lines((s) => s.cost), "$")}
${r.forecast ? forecastCharts(r.forecast) : ""}
<p><small>Generated by proxscale sim (report format ${r.version}). Node-hours count each VM from its clone request to its destruction.</small></p>
</body></html>
`;
}

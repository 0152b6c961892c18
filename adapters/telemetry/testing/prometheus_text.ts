/**
 * A small reader of the Prometheus text format for tests: samples keyed by name and labels,
 * so a test can assert `proxscale_nodeclaims_created_total{nodepool="general",reason="PodsPending"}`
 * without caring about line order or HELP/TYPE lines.
 */

/** One sample line. */
export type Sample = { name: string; labels: Record<string, string>; value: number };

/** Parses every sample line; comments and blank lines are skipped. */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`Not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    }
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample named `name` whose labels include `labels`, or undefined. */
export function sampleValue(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const hits = samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  if (hits.length > 1) {
    throw new Error(`${hits.length} samples of ${name} match ${JSON.stringify(labels)}`);
  }
  return hits[0]?.value;
}

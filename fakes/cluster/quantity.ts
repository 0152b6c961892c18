/**
 * Kubernetes resource quantities as the fake cluster reads them (its own reading, not core/'s:
 * the scheduler, kubelets and controllers judge proxscale with code proxscale does not share).
 * `milli` is what kube-scheduler compares for cpu (MilliValue, rounded up); `value` is the whole
 * unit count for memory, storage and extended resources (Value, rounded up).
 *
 * May import: nothing of the project.
 */

const SUFFIX: Record<string, number> = {
  "": 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const FORM = /^([+-]?)(\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

/**
 * Parses a quantity into `units * scale`, rounded up to an integer (scale 1000 gives
 * millicores). Undefined for text that is not a quantity; the apiserver would have refused it.
 */
export function quantity(
  text: string | number | undefined,
  scale: 1 | 1000 = 1,
): number | undefined {
  if (text === undefined) return 0;
  const m = FORM.exec(String(text).trim());
  if (!m) return undefined;
  const sign = m[1] === "-" ? -1 : 1;
  const factor = m[3] !== undefined ? 10 ** Number(m[3]) : SUFFIX[m[4] ?? ""]!;
  // Round in the decimal domain first so "0.1" * 1000 is 100, not 100.00000000000001 -> 101.
  const raw = Number(m[2]) * factor * scale;
  const rounded = Math.abs(raw - Math.round(raw)) < 1e-6 ? Math.round(raw) : Math.ceil(raw);
  return sign * rounded;
}

/** cpu in millicores; 0 for text that is not a quantity. */
export function milli(text: string | number | undefined): number {
  return quantity(text, 1000) ?? 0;
}

/** Whole units (bytes for memory, devices for extended resources); 0 when unparsable. */
export function units(text: string | number | undefined): number {
  return quantity(text, 1) ?? 0;
}

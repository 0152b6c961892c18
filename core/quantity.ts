/**
 * Kubernetes resource quantities ("500m", "1.5", "4Gi", "1e3") to exact integers and back.
 * CPU is counted in millicores, memory and disk in bytes; fractions round up, as the
 * kube-scheduler does when it converts a request to its internal integer form.
 */
import { err, ok, type Result } from "./result.ts";

const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const DECIMAL: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

const QUANTITY =
  /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;

/** Matches the quantities this project accepts (the Kubernetes grammar, sign included). */
export const QUANTITY_PATTERN = QUANTITY.source;

/**
 * Parses a quantity and returns it multiplied by `scale` (1000 for millicores, 1 for bytes),
 * rounded up to an integer. Negative quantities are rejected: no resource here can be negative.
 */
export function parseQuantity(
  input: string | number,
  scale: 1 | 1000,
): Result<number, string> {
  const text = typeof input === "number" ? String(input) : input.trim();
  const m = QUANTITY.exec(text);
  if (!m) return err(`"${text}" is not a Kubernetes quantity (examples: 500m, 2, 4Gi, 512Mi)`);
  if (m[1] === "-") return err(`"${text}" is negative; quantities must be zero or more`);
  const [whole, frac = ""] = (m[2] ?? "0").split(".");
  let mantissa = BigInt((whole ?? "") + frac || "0");
  let exp10 = -frac.length;
  let multiplier = 1n;
  if (m[3]) exp10 += Number(m[3].slice(1));
  else if (m[4] && m[4] in BINARY) multiplier = BINARY[m[4]]!;
  else if (m[4] !== undefined) exp10 += DECIMAL[m[4]]!;
  mantissa *= multiplier * BigInt(scale);
  let value: bigint;
  if (exp10 >= 0) value = mantissa * 10n ** BigInt(exp10);
  else {
    const div = 10n ** BigInt(-exp10);
    value = (mantissa + div - 1n) / div;
  }
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return err(`"${text}" is too large`);
  return ok(Number(value));
}

/** CPU quantity to millicores; throws on bad input (use only on validated data). */
export function cpuMillis(input: string | number): number {
  const r = parseQuantity(input, 1000);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/** Memory or disk quantity to bytes; throws on bad input (use only on validated data). */
export function bytes(input: string | number): number {
  const r = parseQuantity(input, 1);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/** Millicores to the shortest exact quantity: 2000 -> "2", 1500 -> "1500m". */
export function formatCpu(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

/** Bytes to the largest exact binary unit: 4294967296 -> "4Gi", 1000 -> "1000". */
export function formatMemory(value: number): string {
  for (const unit of ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"] as const) {
    const size = Number(BINARY[unit]);
    if (value !== 0 && value % size === 0) return `${value / size}${unit}`;
  }
  return String(value);
}

/** Bytes as a short human figure for messages: "9.5Gi". */
export function humanBytes(value: number): string {
  const gi = value / 2 ** 30;
  if (gi >= 1) return `${Number(gi.toFixed(2))}Gi`;
  return `${Number((value / 2 ** 20).toFixed(1))}Mi`;
}

/** Millicores as a short human figure for messages: "2.5 vCPU". */
export function humanCpu(millis: number): string {
  return `${Number((millis / 1000).toFixed(3))} vCPU`;
}

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

/**
 * Delays as distributions, not constants (clone, boot, kubelet join, drain per pod, destroy).
 * All values are milliseconds of virtual time; draws come from a seeded Rng.
 *
 * May import: sim/engine/rng.ts.
 */
import type { Rng } from "./rng.ts";

/** A delay distribution in milliseconds. */
export type Distribution =
  | { kind: "constant"; value: number }
  | { kind: "uniform"; min: number; max: number }
  /** Log-normal around `median`, with shape `sigma`, cut at `max` so a tail cannot run away. */
  | { kind: "lognormal"; median: number; sigma: number; max: number };

/** One draw, rounded to whole milliseconds so event times stay integers. */
export function sample(d: Distribution, rng: Rng): number {
  switch (d.kind) {
    case "constant":
      return Math.round(d.value);
    case "uniform":
      return Math.round(d.min + (d.max - d.min) * rng.next());
    case "lognormal":
      return Math.round(Math.min(d.max, d.median * Math.exp(d.sigma * rng.normal())));
  }
}

/** The median of a distribution: what "the boot delay" means in targets and reports. */
export function median(d: Distribution): number {
  switch (d.kind) {
    case "constant":
      return d.value;
    case "uniform":
      return (d.min + d.max) / 2;
    case "lognormal":
      return Math.min(d.median, d.max);
  }
}

/** The largest value a draw can take. */
export function upper(d: Distribution): number {
  switch (d.kind) {
    case "constant":
      return d.value;
    case "uniform":
      return d.max;
    case "lognormal":
      return d.max;
  }
}

/** "uniform 20s-40s": how a distribution reads in reports. */
export function describeDistribution(d: Distribution): string {
  const s = (ms: number) => `${+(ms / 1000).toFixed(3)}s`;
  switch (d.kind) {
    case "constant":
      return s(d.value);
    case "uniform":
      return `uniform ${s(d.min)}-${s(d.max)}`;
    case "lognormal":
      return `lognormal median ${s(d.median)} sigma ${d.sigma} max ${s(d.max)}`;
  }
}

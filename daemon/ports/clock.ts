/**
 * Time and randomness, injected: the daemon passes the wall clock and Math.random, tests and
 * the simulator virtual or seeded ones, so runs repeat.
 *
 * May import: nothing.
 */

/** Time: the current instant and a wait, both in ms. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** A random fraction in [0, 1). */
export type Rng = () => number;

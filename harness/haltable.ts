/**
 * Crash emulation for the demo cluster's tests: wraps a client so that, once its owner is
 * declared dead, every call hangs for ever (a killed process sends nothing more), and so that a
 * hook can run right after a named call returned (the crash points "after VMID reserve",
 * "after clone", "after start" sit between PVE calls).
 *
 * May import: nothing.
 */

const NEVER = new Promise<never>(() => {});

/** Wraps `target`'s methods (and the methods of `nested` properties) with the dead gate and hook. */
export function haltable<T extends object>(
  target: T,
  dead: () => boolean,
  after?: (method: string, args: unknown[]) => Promise<void>,
  nested: string[] = [],
): T {
  return new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t);
      if (typeof prop === "string" && nested.includes(prop) && typeof v === "object" && v) {
        return haltable(v as object, dead, after);
      }
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (dead()) return NEVER;
        const r = (v as (...a: unknown[]) => unknown).apply(t, args);
        if (!(r instanceof Promise)) return r;
        return r.then(async (value) => {
          if (dead()) return await NEVER;
          if (after) await after(String(prop), args);
          return value;
        });
      };
    },
  });
}

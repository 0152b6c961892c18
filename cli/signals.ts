/**
 * The process signals the long-running fake commands stop on.
 *
 * May import: nothing of the project.
 */

/** Resolves on the first SIGINT or SIGTERM, then stops listening. */
export function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      Deno.removeSignalListener("SIGINT", stop);
      Deno.removeSignalListener("SIGTERM", stop);
      resolve();
    };
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  });
}

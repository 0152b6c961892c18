/**
 * Faults a test can switch on in the fake BMC: the next N requests (optionally only those
 * whose path starts with a prefix) answered with a 5xx and the DMTF error body, and tasks
 * slowed down by a fixed extra time.
 *
 * May import: fakes/.
 */

/** One armed HTTP failure. */
export type HttpFault = { status: number; remaining: number; pathPrefix?: string; method?: string };

/** The switchable faults of one fake BMC. */
export class BmcFaults {
  readonly #http: HttpFault[] = [];
  /** Extra milliseconds every task takes before it completes. */
  slowTaskMs = 0;

  /** The next `count` matching requests fail with `status`. */
  failNext(
    count: number,
    status = 500,
    match: { pathPrefix?: string; method?: string } = {},
  ): void {
    this.#http.push({ status, remaining: count, ...match });
  }

  /** The status to answer this request with, consuming one armed failure; else undefined. */
  take(method: string, path: string): number | undefined {
    for (const f of this.#http) {
      if (f.remaining <= 0) continue;
      if (f.pathPrefix && !path.startsWith(f.pathPrefix)) continue;
      if (f.method && f.method !== method) continue;
      f.remaining--;
      return f.status;
    }
    return undefined;
  }

  /** Disarms everything. */
  clear(): void {
    this.#http.length = 0;
    this.slowTaskMs = 0;
  }
}

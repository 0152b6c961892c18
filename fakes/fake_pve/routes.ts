/**
 * The PVE endpoints proxscale uses, as a table: path template, privileges to check (403 like PVE),
 * and a handler over PveModel. Listings drop what the caller may not audit and still answer 200.
 * The server (server.ts) owns transport, authentication, faults and the envelope.
 */
import { missingPriv } from "./auth.ts";
import type { PveError } from "./model.ts";
import type { Ctx, Route } from "./route_kit.ts";
import { CLUSTER_ROUTES } from "./routes_cluster.ts";
import { IMAGE_ROUTES } from "./routes_images.ts";
import { PCI_ROUTES } from "./routes_pci.ts";
import { VM_ROUTES } from "./routes_vm.ts";

/** Every endpoint the fake serves. */
export const ROUTES: Route[] = [...CLUSTER_ROUTES, ...PCI_ROUTES, ...VM_ROUTES, ...IMAGE_ROUTES];

/** Checks a route's privileges: the 403 error, or undefined. */
export function checkRoute(route: Route, c: Ctx): PveError | undefined {
  const needs = route.needs?.(c);
  const msg = needs ? missingPriv(c.id, needs) : undefined;
  return msg ? { status: 403, message: msg } : undefined;
}

/** Matches a path against the table: the route and its path parameters, or why not. */
export function matchRoute(
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | { pathKnown: boolean } {
  const segs = path.split("/").filter((s) => s !== "");
  let pathKnown = false;
  for (const r of ROUTES) {
    const tsegs = r.path.split("/").filter((s) => s !== "");
    if (tsegs.length !== segs.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < tsegs.length && ok; i++) {
      const t = tsegs[i]!;
      if (t.startsWith("{")) {
        try {
          params[t.slice(1, -1)] = decodeURIComponent(segs[i]!);
        } catch {
          ok = false;
        }
      } else ok = t === segs[i];
    }
    if (!ok) continue;
    pathKnown = true;
    if (r.method === method) return { route: r, params };
  }
  return { pathKnown };
}

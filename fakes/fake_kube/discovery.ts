/**
 * Discovery documents as a v1.32 API server serves them: `/version`, legacy `/api`, `/apis`,
 * `/api/v1`, `/apis/<g>[/<v>]`, and aggregated discovery (apidiscovery.k8s.io/v2) for
 * clients that ask for it. Built from the resource catalogue on every request, so CRDs
 * appear as soon as they are Established.
 */
import type { Json } from "./patch.ts";
import type { ResourceDef } from "./resources.ts";

/** `/version` of the imitated v1.32.5 server. */
export const VERSION_INFO = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.5",
  gitCommit: "9894294ef13a5b32803e3ca2c0d620a088cc84d1",
  gitTreeState: "clean",
  buildDate: "2025-05-15T09:12:10Z",
  goVersion: "go1.23.8",
  compiler: "gc",
  platform: "linux/amd64",
};

/**
 * The aggregated-discovery media type whose Content-Type kubectl checks: served as plain
 * application/json, kubectl reads it as a legacy list and finds no resource types.
 */
export const AGGREGATED_CONTENT_TYPE =
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/** Groups in a stable order: core first, then by name; versions in registration order. */
function groups(defs: ResourceDef[]): Map<string, Map<string, ResourceDef[]>> {
  const out = new Map<string, Map<string, ResourceDef[]>>();
  const sorted = [...defs].sort((a, b) => a.group.localeCompare(b.group));
  for (const d of sorted) {
    let g = out.get(d.group);
    if (!g) out.set(d.group, g = new Map());
    const list = g.get(d.version) ?? [];
    list.push(d);
    g.set(d.version, list);
  }
  return out;
}

function subresourceEntries(d: ResourceDef): Json[] {
  const out: Json[] = [];
  const base = { singularName: "", namespaced: d.namespaced };
  if (d.eviction) {
    out.push({ name: `${d.plural}/binding`, ...base, kind: "Binding", verbs: ["create"] });
    out.push({
      name: `${d.plural}/eviction`,
      ...base,
      group: "policy",
      version: "v1",
      kind: "Eviction",
      verbs: ["create"],
    });
  }
  if (d.scale) {
    out.push({
      name: `${d.plural}/scale`,
      ...base,
      group: "autoscaling",
      version: "v1",
      kind: "Scale",
      verbs: ["get", "patch", "update"],
    });
  }
  if (d.status) {
    out.push({
      name: `${d.plural}/status`,
      ...base,
      kind: d.kind,
      verbs: ["get", "patch", "update"],
    });
  }
  return out;
}

/** `APIResourceList` for one group-version; main resources precede their subresources. */
export function resourceList(
  defs: ResourceDef[],
  group: string,
  version: string,
): Json | undefined {
  const mine = defs.filter((d) => d.group === group && d.version === version)
    .sort((a, b) => a.plural.localeCompare(b.plural));
  if (!mine.length) return undefined;
  const resources: Json[] = [];
  for (const d of mine) {
    const r: Json = {
      name: d.plural,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: d.verbs,
    };
    if (d.shortNames.length) r.shortNames = d.shortNames;
    if (d.categories.length) r.categories = d.categories;
    resources.push(r, ...subresourceEntries(d));
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

/** `/api` (APIVersions). */
export function apiVersions(host: string): Json {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: host }],
  };
}

function groupEntry(name: string, versions: string[]): Json {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

/** `/apis` (APIGroupList), without the core group. */
export function apiGroupList(defs: ResourceDef[]): Json {
  const out: Json[] = [];
  for (const [name, versions] of groups(defs)) {
    if (name) out.push(groupEntry(name, [...versions.keys()]));
  }
  return { kind: "APIGroupList", apiVersion: "v1", groups: out };
}

/** `/apis/<group>` (APIGroup). */
export function apiGroup(defs: ResourceDef[], name: string): Json | undefined {
  const g = groups(defs).get(name);
  if (!name || !g) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...groupEntry(name, [...g.keys()]) };
}

/** Aggregated discovery for `/api` (core only) or `/apis` (every other group). */
export function aggregated(defs: ResourceDef[], core: boolean): Json {
  const items: Json[] = [];
  for (const [name, versions] of groups(defs)) {
    if ((name === "") !== core) continue;
    items.push({
      metadata: { name, creationTimestamp: null },
      versions: [...versions.entries()].map(([version, list]) => ({
        version,
        freshness: "Current",
        resources: list.sort((a, b) => a.plural.localeCompare(b.plural)).map((d) => {
          const r: Json = {
            resource: d.plural,
            responseKind: { group: d.group, version: d.version, kind: d.kind },
            scope: d.namespaced ? "Namespaced" : "Cluster",
            singularResource: d.singular,
            verbs: d.verbs,
          };
          if (d.shortNames.length) r.shortNames = d.shortNames;
          if (d.categories.length) r.categories = d.categories;
          const subs = subresourceEntries(d).map((s) => ({
            subresource: s.name.split("/")[1],
            responseKind: {
              group: s.group ?? d.group,
              version: s.version ?? d.version,
              kind: s.kind,
            },
            verbs: s.verbs,
          }));
          if (subs.length) r.subresources = subs;
          return r;
        }),
      })),
    });
  }
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: "apidiscovery.k8s.io/v2",
    metadata: {},
    items,
  };
}

/** Did the client ask for aggregated discovery (kubectl lists its media type first in Accept)? */
export function wantsAggregated(accept: string | null): boolean {
  return !!accept && accept.includes("as=APIGroupDiscoveryList") &&
    accept.includes("g=apidiscovery.k8s.io") &&
    /v=v2(?!beta)/.test(accept);
}

/**
 * InterPodAffinity table: required affinity and anti-affinity in both directions, topology
 * domains, namespaces and namespaceSelector, the first-pod exception; preferred terms only
 * score.
 */
import { deepEqual, equal } from "node:assert/strict";
import type { KObj } from "../../fake_kube/objects.ts";
import {
  AFFINITY,
  ANTI_AFFINITY,
  EXISTING_ANTI_AFFINITY,
  interPodAffinity,
} from "./inter_pod_affinity.ts";
import { cluster, node, pod } from "./testing/objects.ts";

const HOST = "kubernetes.io/hostname";
const term = (app: string, topologyKey = HOST, extra: Record<string, unknown> = {}) => ({
  labelSelector: { matchLabels: { app } },
  topologyKey,
  ...extra,
});
const withAffinity = (kind: "podAffinity" | "podAntiAffinity", terms: unknown[]) => ({
  affinity: { [kind]: { requiredDuringSchedulingIgnoredDuringExecution: terms } },
});

const nodes = [
  node("n1", { labels: { zone: "a" } }),
  node("n2", { labels: { zone: "a" } }),
  node("n3", { labels: { zone: "b" } }),
];
const web = (name: string, at: string, spec = {}) =>
  pod(name, {}, spec, { labels: { app: "web" }, nodeName: at });

const table: { name: string; incoming: KObj; bound: KObj[]; on: string; want: string[] }[] = [
  {
    name: "anti-affinity on hostname refuses the node holding a match",
    incoming: pod("p", {}, withAffinity("podAntiAffinity", [term("web")]), {
      labels: { app: "web" },
    }),
    bound: [web("w", "n1")],
    on: "n1",
    want: [ANTI_AFFINITY],
  },
  {
    name: "anti-affinity on hostname admits another node",
    incoming: pod("p", {}, withAffinity("podAntiAffinity", [term("web")]), {
      labels: { app: "web" },
    }),
    bound: [web("w", "n1")],
    on: "n2",
    want: [],
  },
  {
    name: "anti-affinity on zone refuses every node of the zone",
    incoming: pod("p", {}, withAffinity("podAntiAffinity", [term("web", "zone")])),
    bound: [web("w", "n1")],
    on: "n2",
    want: [ANTI_AFFINITY],
  },
  {
    name: "an existing pod's anti-affinity repels a pod it matches",
    incoming: pod("p", {}, {}, { labels: { app: "db" } }),
    bound: [web("w", "n1", withAffinity("podAntiAffinity", [term("db")]))],
    on: "n1",
    want: [EXISTING_ANTI_AFFINITY],
  },
  {
    name: "an existing pod's anti-affinity in another namespace does not select the pod",
    incoming: pod("other/p", {}, {}, { labels: { app: "db" } }),
    bound: [web("w", "n1", withAffinity("podAntiAffinity", [term("db")]))],
    on: "n1",
    want: [],
  },
  {
    name: "affinity needs a matching pod in the domain",
    incoming: pod("p", {}, withAffinity("podAffinity", [term("web", "zone")])),
    bound: [web("w", "n1")],
    on: "n3",
    want: [AFFINITY],
  },
  {
    name: "affinity is met anywhere in the matching pod's zone",
    incoming: pod("p", {}, withAffinity("podAffinity", [term("web", "zone")])),
    bound: [web("w", "n1")],
    on: "n2",
    want: [],
  },
  {
    name: "the first pod of a self-affine group may go anywhere",
    incoming: pod("p", {}, withAffinity("podAffinity", [term("web", "zone")]), {
      labels: { app: "web" },
    }),
    bound: [],
    on: "n3",
    want: [],
  },
  {
    name: "a pod without matching peers and not matching itself is refused",
    incoming: pod("p", {}, withAffinity("podAffinity", [term("web", "zone")]), {
      labels: { app: "db" },
    }),
    bound: [],
    on: "n3",
    want: [AFFINITY],
  },
  {
    name: "affinity on a key the node lacks is refused",
    incoming: pod("p", {}, withAffinity("podAffinity", [term("web", "rack")]), {
      labels: { app: "web" },
    }),
    bound: [],
    on: "n1",
    want: [AFFINITY],
  },
  {
    name: "listed namespaces widen the term",
    incoming: pod(
      "p",
      {},
      withAffinity("podAntiAffinity", [term("web", HOST, { namespaces: ["other"] })]),
    ),
    bound: [pod("other/w", {}, {}, { labels: { app: "web" }, nodeName: "n1" })],
    on: "n1",
    want: [ANTI_AFFINITY],
  },
  {
    name: "a namespaceSelector selects namespaces by label",
    incoming: pod(
      "p",
      {},
      withAffinity("podAntiAffinity", [
        term("web", HOST, { namespaceSelector: { matchLabels: { team: "x" } } }),
      ]),
    ),
    bound: [pod("teamx/w", {}, {}, { labels: { app: "web" }, nodeName: "n1" })],
    on: "n1",
    want: [ANTI_AFFINITY],
  },
  {
    name: "a selector with expressions only still finds the pods it matches",
    incoming: pod(
      "p",
      {},
      withAffinity("podAntiAffinity", [{
        labelSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["web"] }] },
        topologyKey: HOST,
      }]),
    ),
    bound: [web("w", "n1")],
    on: "n1",
    want: [ANTI_AFFINITY],
  },
  {
    name: "a term without labelSelector matches no pod",
    incoming: pod("p", {}, withAffinity("podAntiAffinity", [{ topologyKey: HOST }])),
    bound: [web("w", "n1")],
    on: "n1",
    want: [],
  },
  {
    name: "an empty namespaceSelector selects every namespace",
    incoming: pod(
      "p",
      {},
      withAffinity("podAntiAffinity", [term("web", HOST, { namespaceSelector: {} })]),
    ),
    bound: [pod("elsewhere/w", {}, {}, { labels: { app: "web" }, nodeName: "n1" })],
    on: "n1",
    want: [ANTI_AFFINITY],
  },
];

for (const row of table) {
  Deno.test(`inter-pod affinity: ${row.name}`, () => {
    const c = cluster(nodes, row.bound, {
      namespaces: [{ metadata: { name: "teamx", labels: { team: "x" } } }, {
        metadata: { name: "elsewhere" },
      }],
    });
    deepEqual(interPodAffinity(row.incoming, c).filter(c.byName.get(row.on)!), row.want);
  });
}

Deno.test("a pod's own anti-affinity is reported before the existing pods' anti-affinity", () => {
  const antiWeb = withAffinity("podAntiAffinity", [term("web")]);
  const c = cluster(nodes, [web("w", "n1", antiWeb)]);
  const p = pod("p", {}, antiWeb, { labels: { app: "web" } });
  deepEqual(interPodAffinity(p, c).filter(c.byName.get("n1")!), [ANTI_AFFINITY]);
});

Deno.test("preferred pod affinity scores the domain holding matching pods", () => {
  const c = cluster(nodes, [web("w", "n1")]);
  const p = pod("p", {}, {
    affinity: {
      podAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 50,
          podAffinityTerm: term("web", "zone"),
        }],
      },
    },
  });
  const ipa = interPodAffinity(p, c);
  equal(ipa.score(c.byName.get("n2")!), 50);
  equal(ipa.score(c.byName.get("n3")!), 0);
});

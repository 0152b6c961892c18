/**
 * Fuzzing the decoders of Proxmox and Kubernetes answers: valid sample responses with fields
 * of the wrong type, missing fields, huge arrays and deep nesting, then (for Proxmox) wrapped in
 * broken envelopes, odd HTTP statuses and non-JSON bodies, go through the real parsing code
 * (adapters/proxmox/transport.ts `interpret`, then the client's `decodeData` with its schemas;
 * adapters/kubernetes/translate*.ts) and come back as typed values or typed errors whose
 * messages stay short: never an exception, never more than 2 s, never an error that copies a
 * huge input.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { z } from "zod";
import * as S from "../adapters/proxmox/schemas.ts";
import { interpret } from "../adapters/proxmox/transport.ts";
import { decodeData } from "../adapters/proxmox/client.ts";
import {
  nodeClaimFromKube,
  nodeFromKube,
  pdbFromKube,
  podFromKube,
} from "../adapters/kubernetes/translate.ts";
import {
  daemonSetFromKube,
  persistentVolumeFromKube,
  storageClassFromKube,
  volumeClaimFromKube,
} from "../adapters/kubernetes/translate_workloads.ts";
import { FUZZ_RUNS, fuzzParams, rarely, withinBudget } from "./testing/fuzz.ts";

/** Longest error message allowed: a message quotes, it never copies a huge input. */
const MAX_MESSAGE = 4_096;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    null,
    "",
    -1,
    1.5,
    1e308,
    -0,
    Number.MAX_SAFE_INTEGER + 2,
    "NaN",
    "1e999",
    "0x10",
    [],
    {},
    { toString: 1 },
    { __proto__: null },
    [null],
    "\u0000",
    true,
  ),
);

/** Every path to a value inside `v` (keys and indexes). */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  }
  return out;
}

function setAt(
  root: unknown,
  path: (string | number)[],
  f: (old: unknown) => unknown | typeof DROP,
) {
  if (path.length === 0) {
    const r = f(root);
    return r === DROP ? undefined : r;
  }
  if (root === null || typeof root !== "object") return root;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let cur = copy;
  for (const k of path.slice(0, -1)) {
    const next = cur[k];
    // An earlier edit replaced this branch: nothing left to edit here.
    if (next === null || typeof next !== "object") return copy;
    cur = next as Record<string | number, unknown>;
  }
  const last = path[path.length - 1]!;
  const r = f(cur[last]);
  if (r === DROP) {
    if (Array.isArray(cur)) cur.splice(Number(last), 1);
    else delete cur[last];
  } else cur[last] = r;
  return copy;
}
const DROP = Symbol("drop");

const deep = (n: number, leaf: unknown): unknown => {
  let v = leaf;
  for (let i = 0; i < n; i++) v = i % 2 ? { x: v } : [v];
  return v;
};

/** One to four edits of `sample` (wrong types, drops), sometimes a huge or deep one. */
function malformed(sample: Json): fc.Arbitrary<unknown> {
  const all = paths(sample);
  const edit = fc.tuple(fc.nat(), fc.oneof(oddValue, fc.constant(DROP))).map(
    ([i, v]) => (x: unknown) => setAt(x, all[i % all.length]!, () => v),
  );
  const big = fc.oneof(
    fc.tuple(fc.nat(), fc.integer({ min: 1_000, max: 200_000 })).map(([i, n]) => (x: unknown) =>
      setAt(x, all[i % all.length]!, (old) => Array(n).fill(old ?? 1))
    ),
    fc.tuple(fc.nat(), fc.integer({ min: 100, max: 5_000 })).map(([i, n]) => (x: unknown) =>
      setAt(x, all[i % all.length]!, (old) => deep(n, old))
    ),
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 8 })).map(([i, mb]) => (x: unknown) =>
      setAt(x, all[i % all.length]!, () => "y".repeat(mb << 20))
    ),
  );
  return fc.tuple(fc.array(edit, { minLength: 1, maxLength: 4 }), rarely(big)).map(
    ([edits, b]) => {
      let v: unknown = sample;
      for (const e of edits) v = e(v);
      return b ? b(v) : v;
    },
  );
}

// ---------------------------------------------------------------- Proxmox

const PVE: [string, z.ZodType, Json][] = [
  ["GET /version", S.versionInfo, { version: "8.2.4", release: "8.2" }],
  ["GET /cluster/status", S.clusterStatus, [
    { type: "cluster", name: "c", quorate: 1 },
    { type: "node", name: "pve1", online: 1 },
  ]],
  ["GET /cluster/nextid", S.vmidString, "9001"],
  ["GET /cluster/resources", S.resources, [
    { type: "qemu", vmid: 9001, node: "pve1", status: "running", name: "w", tags: "proxscale" },
    { type: "storage", storage: "local" },
  ]],
  ["GET /nodes", S.nodes, [{ node: "pve1", status: "online", maxcpu: 32, maxmem: 1e11 }]],
  ["GET /nodes/{node}/qemu", S.qemuList, [{ vmid: "9001", status: "stopped", template: 1 }]],
  ["GET /nodes/{node}/qemu/{vmid}/config", S.vmConfig, {
    digest: "abc",
    name: "w",
    memory: "4096",
    cores: 2,
    net0: "virtio=AA:BB:CC:DD:EE:FF,bridge=vmbr0",
  }],
  ["GET /nodes/{node}/qemu/{vmid}/status/current", S.vmStatus, { status: "running" }],
  ["GET /nodes/{node}/tasks/{upid}/status", S.taskStatus, { status: "stopped", exitstatus: "OK" }],
  [
    "POST /nodes/{node}/qemu/{vmid}/clone",
    S.upid,
    "UPID:pve1:00001234:00ABCDEF:65000000:qmclone:9000:root@pam:",
  ],
  ["GET /nodes/{node}/storage/{storage}/status", S.storageStatus, {
    total: 1e12,
    used: 1e9,
    active: 1,
  }],
  ["GET /nodes/{node}/storage/{storage}/content", S.storageContent, [{ volid: "local:iso/a.iso" }]],
  ["GET /pools", S.pools, [{ poolid: "k8s" }]],
  ["PUT /nodes/{node}/qemu/{vmid}/config", S.nullData, null],
];

/** A response body as PVE (or a broken proxy in front of it) might send it. */
function pveBody(sample: Json): fc.Arbitrary<{ status: number; text: string }> {
  return fc.tuple(
    malformed(sample),
    fc.oneof(
      { arbitrary: fc.constant(200), weight: 6 },
      fc.constantFrom(201, 204, 301, 400, 401, 403, 404, 500, 501, 502, 596, 599),
    ),
    fc.oneof(
      { arbitrary: fc.constant("envelope"), weight: 6 },
      fc.constantFrom("bare", "truncated", "html", "empty", "message", "errors"),
    ),
  ).map(([data, status, shape]) => {
    const enveloped = JSON.stringify({ data }) ?? "{}";
    const text = shape === "envelope"
      ? enveloped
      : shape === "bare"
      ? JSON.stringify(data) ?? ""
      : shape === "truncated"
      ? enveloped.slice(0, Math.floor(enveloped.length / 2))
      : shape === "html"
      ? "<html><body>502 Bad Gateway</body></html>"
      : shape === "empty"
      ? ""
      : shape === "message"
      ? JSON.stringify({ data: null, message: data })
      : JSON.stringify({ data: null, errors: data });
    return { status, text };
  });
}

for (const [endpoint, schema, sample] of PVE) {
  Deno.test(`fuzz: ${FUZZ_RUNS} malformed answers to ${endpoint} are typed errors or valid data`, () => {
    const seen = { ok: 0, error: 0 };
    fc.assert(
      fc.property(pveBody(sample), ({ status, text }) => {
        const outcome = withinBudget(endpoint, () => {
          const r = interpret(endpoint, status, "Reason", text);
          if (!r.ok) return { ok: false as const, message: r.error.message, kind: r.error.kind };
          const d = decodeData(schema, r.value, endpoint);
          if (d.ok) return { ok: true as const };
          return { ok: false as const, message: d.error.message, kind: d.error.kind };
        });
        if (outcome.ok) seen.ok++;
        else {
          seen.error++;
          assert.equal(typeof outcome.kind, "string");
          assert.ok(
            outcome.message.length <= MAX_MESSAGE,
            `message of ${outcome.message.length} chars`,
          );
        }
      }),
      fuzzParams(),
    );
    assert.ok(seen.error > 0, JSON.stringify(seen));
  });
}

// ---------------------------------------------------------------- Kubernetes

const meta = (name: string, extra: Record<string, Json> = {}) => ({
  name,
  namespace: "default",
  uid: "u-1",
  resourceVersion: "7",
  creationTimestamp: "2026-12-01T00:00:00Z",
  labels: { app: "web" },
  ...extra,
});

const KUBE: [string, (o: unknown) => { ok: boolean; error?: unknown }, Json][] = [
  ["Pod", podFromKube, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: meta("web-1", { ownerReferences: [{ kind: "ReplicaSet", name: "web-x", uid: "r" }] }),
    spec: {
      nodeName: "n1",
      priority: 10,
      containers: [{
        name: "c",
        image: "nginx",
        resources: { requests: { cpu: "100m", memory: "128Mi" } },
        ports: [{ containerPort: 80, hostPort: 8080 }],
      }],
      initContainers: [{ name: "i", resources: { requests: { cpu: "1" } } }],
      nodeSelector: { "kubernetes.io/arch": "amd64" },
      tolerations: [{ key: "k", operator: "Exists", effect: "NoSchedule" }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{
              matchExpressions: [{ key: "z", operator: "In", values: ["a"] }],
            }],
          },
        },
      },
      volumes: [{ name: "v", persistentVolumeClaim: { claimName: "data" } }],
    },
    status: {
      phase: "Pending",
      conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable" }],
    },
  }],
  ["Node", nodeFromKube, {
    apiVersion: "v1",
    kind: "Node",
    metadata: meta("n1", { namespace: "" }),
    spec: { providerID: "proxmox://c/9001", taints: [{ key: "k", effect: "NoSchedule" }] },
    status: {
      allocatable: { cpu: "3900m", memory: "7Gi", pods: "110" },
      capacity: { cpu: "4", memory: "8Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-12-01T00:00:00Z" }],
    },
  }],
  ["PodDisruptionBudget", pdbFromKube, {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: meta("web"),
    spec: { maxUnavailable: 1, selector: { matchLabels: { app: "web" } } },
    status: { disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2 },
  }],
  ["NodeClaim", nodeClaimFromKube, {
    apiVersion: "proxscale.io/v1alpha1",
    kind: "NodeClaim",
    metadata: meta("general-abc12", { namespace: "", annotations: { a: "b" } }),
    spec: {
      nodePool: "general",
      machineTemplate: "worker",
      provider: "homelab",
      shape: { name: "4c-8Gi", cpu: "4", memory: "8Gi" },
      labels: { x: "y" },
      taints: [{ key: "k", effect: "NoSchedule" }],
    },
    status: {
      vmid: 9001,
      host: "pve1",
      nodeName: "n1",
      conditions: [{ type: "Launched", status: "True" }],
    },
  }],
  ["DaemonSet", daemonSetFromKube, {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: meta("exporter"),
    spec: {
      template: {
        metadata: { labels: { app: "e" } },
        spec: { containers: [{ name: "c", resources: { requests: { cpu: "50m" } } }] },
      },
    },
  }],
  ["PersistentVolumeClaim", volumeClaimFromKube, {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: meta("data"),
    spec: { storageClassName: "local-path", volumeName: "pv-1" },
    status: { phase: "Bound" },
  }],
  ["PersistentVolume", persistentVolumeFromKube, {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: meta("pv-1", { namespace: "" }),
    spec: {
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: "h", operator: "In", values: ["n1"] }] }],
        },
      },
    },
  }],
  ["StorageClass", storageClassFromKube, {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: meta("local-path", { namespace: "" }),
    provisioner: "rancher.io/local-path",
    volumeBindingMode: "WaitForFirstConsumer",
  }],
];

for (const [kind, decode, sample] of KUBE) {
  Deno.test(`fuzz: ${FUZZ_RUNS} malformed ${kind} objects decode to typed values or typed errors`, () => {
    assert.ok(decode(sample).ok, `the ${kind} sample decodes`);
    const seen = { ok: 0, error: 0 };
    fc.assert(
      fc.property(malformed(sample), (obj) => {
        const r = withinBudget(`${kind} decode`, () => decode(obj));
        if (r.ok) seen.ok++;
        else {
          seen.error++;
          assert.equal(typeof r.error, "string", "a Malformed is a message");
          assert.ok(
            (r.error as string).length <= MAX_MESSAGE,
            `message of ${(r.error as string).length} chars`,
          );
        }
      }),
      fuzzParams(),
    );
    assert.ok(seen.error > 0 && seen.ok > 0, JSON.stringify(seen));
  });
}

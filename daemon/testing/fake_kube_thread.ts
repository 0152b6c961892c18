/**
 * The fake API server on a thread of its own, for tests that block the main thread on purpose
 * (a long decision) and need the API server to keep answering meanwhile. Start it with
 * `startFakeKubeThread()`; it posts back the kubeconfig and serves until terminated.
 *
 * May import: fakes/, daemon/.
 */
import { startFakeKube } from "../../fakes/fake_kube/server.ts";

type Lease = { holder: string; transitions: number };

/** The fake API server in a worker: its kubeconfig, a reader of one Lease, and its end. */
export async function startFakeKubeThread(): Promise<{
  kubeconfig: string;
  lease(namespace: string, name: string): Promise<Lease | undefined>;
  close(): void;
}> {
  const worker = new Worker(import.meta.url, { type: "module", name: "fake-kube-thread" });
  const replies = new Map<number, (v: unknown) => void>();
  let next = 1;
  const started = Promise.withResolvers<string>();
  worker.onmessage = (e) => {
    const m = e.data as { kubeconfig?: string; id?: number; value?: unknown };
    if (m.kubeconfig) started.resolve(m.kubeconfig);
    else if (m.id !== undefined) {
      replies.get(m.id)?.(m.value);
      replies.delete(m.id);
    }
  };
  worker.postMessage({ start: true });
  return {
    kubeconfig: await started.promise,
    lease: (namespace, name) => {
      const id = next++;
      const p = new Promise<unknown>((r) => replies.set(id, r));
      worker.postMessage({ id, lease: { namespace, name } });
      return p as Promise<Lease | undefined>;
    },
    close: () => worker.terminate(),
  };
}

type WorkerScope = {
  name?: string;
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(m: unknown): void;
};
const scope = self as unknown as WorkerScope;

if (import.meta.main && scope.name === "fake-kube-thread") {
  const kube = await startFakeKube({ seed: 7, tls: false });
  scope.onmessage = (e: MessageEvent) => {
    const m = e.data as { id?: number; lease?: { namespace: string; name: string } };
    if (m.id === undefined || !m.lease) return;
    const r = kube.store.get("leases.coordination.k8s.io", m.lease.namespace, m.lease.name);
    const spec = r.ok
      ? (r.value as { spec?: { holderIdentity?: string; leaseTransitions?: number } }).spec
      : undefined;
    scope.postMessage({
      id: m.id,
      value: spec
        ? { holder: spec.holderIdentity ?? "", transitions: spec.leaseTransitions ?? 0 }
        : undefined,
    });
  };
  scope.postMessage({ kubeconfig: kube.kubeconfig() });
}

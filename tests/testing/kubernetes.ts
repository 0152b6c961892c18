/**
 * Helpers for the Kubernetes adapter tests: a fake API server on 127.0.0.1 with a KubeClient
 * pointed at it over a real socket, and a poll-until helper (waits, never asserts on time).
 */
import {
  type FakeKube,
  type FakeKubeOptions,
  startFakeKube,
} from "../../fakes/fake_kube/server.ts";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { KubeClient } from "../../adapters/kubernetes/client.ts";
import { kubeClientFromKubeconfig } from "../../adapters/kubernetes/kubeconfig.ts";
import { sleep } from "../../adapters/kubernetes/backoff.ts";

/** Runs `fn` with a fresh fake API server and a client for it; always closes the server. */
export async function withFake(
  fn: (fake: FakeKube, client: KubeClient) => Promise<void>,
  opts: FakeKubeOptions = {},
): Promise<void> {
  const fake = await startFakeKube({ seed: 7, ...opts });
  try {
    await fn(fake, kubeClientFromKubeconfig(fake.kubeconfig()));
  } finally {
    await fake.close();
  }
}

/** Polls `cond` every 10 ms until it holds; throws with `what` after `limitMs` (a hang guard). */
export async function eventually(
  what: string,
  cond: () => boolean | Promise<boolean>,
  limitMs = 30_000,
): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`gave up waiting for: ${what}`);
    await sleep(10);
  }
}

/** A minimal pod body for the fake's store. */
export function podBody(name: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app: "web" } },
    spec: { containers: [{ name: "c", image: "nginx", resources: { requests: { cpu: "100m" } } }] },
    ...extra,
  };
}

/**
 * client-node's own KubeConfig and CoreV1Api for the same connection as `client`: the tests
 * that show client-node's traps need them, the adapter no longer loads client-node.
 */
export function clientNodeFor(client: KubeClient): { kc: KubeConfig; core: CoreV1Api } {
  const c = client.kc;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{
      name: "c",
      server: c.server,
      skipTLSVerify: c.insecureSkipTlsVerify,
      ...(c.caCerts[0] ? { caData: btoa(c.caCerts[0]) } : {}),
    }],
    users: [{ name: "u", ...(c.token ? { token: c.token } : {}) }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return { kc, core: kc.makeApiClient(CoreV1Api) };
}

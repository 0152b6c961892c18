/**
 * Shared setup of the Proxmox suites (contract and faults): the fake PVE with fast task timings,
 * a Provider pointing at it, PVE clients pinned to its certificate, and provider timings short
 * enough for tests. Each suite keeps only what differs (seed, faults, retries, breaker).
 */
import type { Provider } from "../../core/model.ts";
import { GiB } from "../../core/quantity.ts";
import { PveClient, type PveClientOptions } from "../../adapters/proxmox/client.ts";
import { provider as baseProvider } from "../../adapters/proxmox/testing/fixtures.ts";
import type { FakePve } from "../../fakes/fake_pve/server.ts";

/** Task durations (ms) and lock waits that keep a suite to seconds; `lockWaitMs` varies per suite. */
export function fastPveTiming(lockWaitMs: number) {
  return {
    durations: {
      qmcreate: 20,
      qmclone: 30,
      qmconfig: 10,
      resize: 10,
      qmstart: 15,
      qmstop: 10,
      qmshutdown: 10,
      qmdestroy: 15,
      imgcopy: 5,
      imgdel: 5,
    },
    cloneBytesPerSecond: 1024 * GiB,
    lockWaitMs,
    cloneLockWaitMs: 100,
    createLockWaitMs: 100,
    storageLockWaitMs: 300,
  };
}

/** Provider timings for tests: quick polls and retries, generous deadlines. */
export const FAST_PROVIDER_TIMINGS = {
  poll: 10,
  retryBase: 10,
  ambiguousGrace: 150,
  taskDeadline: 20_000,
  powerDeadline: 10_000,
};

/** The fixture Provider, pointed at `fake` with its two hosts pve1 and pve2 (no overcommit). */
export function fakeProviderConfig(fake: FakePve): Provider {
  return {
    ...baseProvider,
    endpoint: fake.url,
    tokenId: fake.tokenId,
    hosts: ["pve1", "pve2"].map((name) => ({
      name,
      zone: name,
      cpuOvercommit: 1,
      memoryOvercommit: 1,
      reserved: { cpu: 0, memory: 0 },
    })),
  };
}

/** The snippet the fixture template's cicustom names, on every host (PVE checks it at start). */
export function addJoinSnippet(fake: FakePve): void {
  for (const node of ["pve1", "pve2"]) fake.model.addFile(node, "local", "snippets", "join.yaml");
}

/** A PVE client for `fake`, pinned to its certificate, with test-sized retries and polls. */
export function fakePveClient(fake: FakePve, over: Partial<PveClientOptions> = {}): PveClient {
  return new PveClient({
    endpoint: fake.url,
    tokenId: fake.tokenId,
    tokenSecret: fake.tokenSecret,
    tls: { fingerprint: fake.fingerprint },
    timeoutMs: 5000,
    retry: { attempts: 4, baseMs: 5, maxMs: 40 },
    task: { pollMinMs: 5, pollMaxMs: 25, deadlineMs: 20_000 },
    ...over,
  });
}

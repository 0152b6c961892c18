/**
 * The front-door worker: a thread of its own that listens on the daemon's HTTP port and renews
 * its Lease, so neither waits on a decision the main thread is busy with (a pass over 100,000
 * pending pods takes seconds). It answers /healthz, /livez and /readyz itself from the health
 * facts the main thread sends; every other request (/metrics, /status, /pause, ...) goes to the
 * main thread and its answer comes back. The Lease's standing is published in shared memory,
 * which the main thread reads before each action.
 *
 * A main thread that stays away from its event loop longer than `mainStallLimitMs` is taken as
 * hung: the worker stops renewing (another replica takes over) and /healthz fails (the kubelet
 * restarts the pod), as a hung single-threaded daemon would have.
 *
 * Run as a worker: by this module's URL (tests, `deno run`), or by main.ts when the worker is
 * named FRONT_DOOR_WORKER_NAME (the compiled binary and the bundle have one module graph).
 *
 * May import: core/, adapters/, daemon/.
 */
import { KubeClient } from "../adapters/kubernetes/client.ts";
import { LeaderElector } from "../adapters/kubernetes/leader_elector.ts";
import type { Check, HealthSource } from "../adapters/telemetry/health.ts";
import { livenessCheck } from "../adapters/telemetry/health.ts";
import { probeResponse } from "./probe_response.ts";
import {
  type FromWorker,
  LEADER_UNTIL,
  MAIN_ALIVE_AT,
  type ToWorker,
} from "./front_door_protocol.ts";

type Scope = {
  postMessage(m: FromWorker): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  close(): void;
};

/** Serves the front door in this worker until told to stop. */
export function serveFrontDoor(scope: Scope = self as unknown as Scope): void {
  let shared: Float64Array | undefined;
  let server: Deno.HttpServer | undefined;
  let elector: LeaderElector | undefined;
  let watchdog: ReturnType<typeof setInterval> | undefined;
  let stallLimit = 60_000;
  let maxTickAgeMs = 60_000;
  let facts = { lastTick: Date.now(), ticked: false, checks: [] as Check[] };
  let nextId = 1;
  const pending = new Map<number, (r: Response) => void>();
  const post = (m: FromWorker) => scope.postMessage(m);

  const mainAge = () => Date.now() - (shared?.[MAIN_ALIVE_AT] ?? Date.now());
  const stalled = () => mainAge() > stallLimit;
  const health: HealthSource = {
    liveness() {
      const loop = livenessCheck(facts, Date.now(), maxTickAgeMs);
      if (!stalled()) return loop;
      return {
        name: "loop",
        ok: false,
        detail: `the main thread has been busy for ${Math.round(mainAge() / 1000)}s (limit ${
          Math.round(stallLimit / 1000)
        }s)`,
      };
    },
    readiness: () => facts.checks,
  };
  // Probes are answered here, in the body format of daemon/http.ts (its module, with the
  // metrics registry it imports, stays on the main thread: this thread loads little).
  const probes = (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname;
    const checks = path === "/readyz" ? health.readiness() : [health.liveness()];
    return Promise.resolve(probeResponse(checks));
  };
  const forward = async (req: Request): Promise<Response> => {
    const id = nextId++;
    const body = req.method === "GET" || req.method === "HEAD"
      ? null
      : new Uint8Array(await req.arrayBuffer());
    const answered = new Promise<Response>((resolve) => pending.set(id, resolve));
    post({
      type: "request",
      id,
      method: req.method,
      url: req.url,
      headers: [...req.headers],
      body,
    });
    return await answered;
  };
  const PROBES = new Set(["/healthz", "/livez", "/readyz"]);

  const publish = (until: number) => {
    // A hung main thread must not keep the Lease: it could never act on it.
    if (shared) shared[LEADER_UNTIL] = stalled() ? 0 : until;
  };

  scope.onmessage = (e) => {
    const m = e.data;
    switch (m.type) {
      case "init": {
        shared = new Float64Array(m.shared);
        stallLimit = m.mainStallLimitMs;
        maxTickAgeMs = m.maxTickAgeMs;
        try {
          server = Deno.serve({
            hostname: m.http.hostname,
            port: m.http.port,
            onListen: (a) => post({ type: "listening", hostname: a.hostname, port: a.port }),
          }, (req) => PROBES.has(new URL(req.url).pathname) ? probes(req) : forward(req));
        } catch (err) {
          post({
            type: "listenFailed",
            name: err instanceof Error ? err.name : "Error",
            message: err instanceof Error ? err.message : String(err),
          });
        }
        return;
      }
      case "health":
        facts = { lastTick: m.lastTick, ticked: m.ticked, checks: m.checks };
        return;
      case "lease": {
        const l = m.lease;
        elector = new LeaderElector({
          client: new KubeClient(l.kc),
          namespace: l.namespace,
          name: l.name,
          identity: l.identity,
          ...(l.config ? { config: l.config } : {}),
          log: (entry) => post({ type: "log", entry }),
          onStanding: publish,
          onStartedLeading: () => post({ type: "standing", leading: true }),
          onStoppedLeading: (why) => post({ type: "standing", leading: false, why }),
        });
        elector.start();
        // Re-published often: the main thread's stall is judged against the clock. A stalled
        // main thread gives the Lease up for good (released, so another replica takes over at
        // once); /healthz then fails and the process is replaced.
        watchdog = setInterval(() => {
          if (stalled() && elector) {
            const gone = elector;
            elector = undefined;
            post({
              type: "log",
              entry: {
                level: "error",
                msg: `main thread unresponsive for ${
                  Math.round(mainAge() / 1000)
                }s: giving up the Lease`,
                reason: "LeaderLost",
              },
            });
            void gone.stop();
          }
          publish(elector?.leaderUntil() ?? 0);
        }, 50);
        return;
      }
      case "response": {
        const resolve = pending.get(m.id);
        pending.delete(m.id);
        resolve?.(new Response(m.body, { status: m.status, headers: m.headers }));
        return;
      }
      case "stop":
        void (async () => {
          clearInterval(watchdog);
          if (shared) shared[LEADER_UNTIL] = 0;
          await elector?.stop();
          for (const resolve of pending.values()) {
            resolve(new Response("shutting down\n", { status: 503 }));
          }
          pending.clear();
          await server?.shutdown();
          post({ type: "stopped" });
          scope.close();
        })();
        return;
    }
  };
}

if (import.meta.main) serveFrontDoor();

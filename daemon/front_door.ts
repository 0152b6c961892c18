/**
 * The main thread's side of the front door (front_door_worker.ts): starts the worker, feeds it
 * the health facts, answers the requests it hands over with the daemon's HTTP handler, and
 * reads the Lease standing from shared memory. `elector` has the shape startDaemon takes, so
 * the daemon gates its actions and jobs on the worker's Lease exactly as on an in-process one.
 *
 * Why a worker: the decision is synchronous pure code, and with a backlog of 100,000 pods on a
 * full cluster it runs for seconds. On one thread that also stops the Lease renewals (the
 * leader loses its Lease mid-pass and the other replica stalls the same way) and /healthz.
 * Moving the decision instead would copy the whole snapshot to the worker every pass (0.5-1 s
 * of structured clone on the main thread at 100,000 pods, measured); the front door needs only
 * the health facts and the few requests the listener receives.
 *
 * May import: core/, adapters/, daemon/.
 */
import { err, ok, type Result } from "../core/result.ts";
import type { Log } from "../adapters/kubernetes/log.ts";
import { createHealthState, type HealthState } from "../adapters/telemetry/health.ts";
import { defaultRedactor, type Redactor } from "../adapters/telemetry/redact.ts";
import {
  type FromWorker,
  FRONT_DOOR_WORKER_NAME,
  LEADER_UNTIL,
  type LeaseSpec,
  MAIN_ALIVE_AT,
  SHARED_SLOTS,
  type ToWorker,
} from "./front_door_protocol.ts";

/** What startDaemon needs of a leader elector. */
export type Elector = {
  isLeader(): boolean;
  start(): void;
  stop(): Promise<void>;
};

export type FrontDoorOptions = {
  http: { hostname: string; port: number };
  /** Everything the listener does not answer itself (/metrics, /status, ...). */
  handler: (req: Request) => Promise<Response>;
  /** The Lease the worker holds once `elector.start()` is called; none: always leader. */
  lease?: LeaseSpec;
  /** /healthz fails when the loop's last tick is older (ms). */
  maxTickAgeMs?: number;
  /** The main thread away from its event loop this long (ms) is taken as hung. Default 60 s. */
  mainStallLimitMs?: number;
  /** The worker's module; default front_door_worker.ts beside this file. */
  workerUrl?: URL;
  log?: Log;
  /** Scrubs probe details before they leave this thread (they may quote upstream errors). */
  redactor?: Redactor;
  now?: () => number;
};

/** A running front door. */
export type FrontDoor = {
  hostname: string;
  port: number;
  /** The health state the daemon writes; each write reaches the worker's probes. */
  health: HealthState;
  elector: Elector;
  /** Releases the Lease (if held), stops listening, ends the worker. */
  close(): Promise<void>;
  /** Ends the worker at once, nothing released (a crash). */
  kill(): void;
};

/** Why the front door could not open: the listener's error, by name (`AddrInUse`, ...). */
export type FrontDoorError = { name: string; message: string };

/** Starts the worker and waits until it listens; a port it cannot take is an error value. */
export async function startFrontDoor(
  o: FrontDoorOptions,
): Promise<Result<FrontDoor, FrontDoorError>> {
  const now = o.now ?? Date.now;
  const redactor = o.redactor ?? defaultRedactor;
  const shared = new SharedArrayBuffer(SHARED_SLOTS * Float64Array.BYTES_PER_ELEMENT);
  const view = new Float64Array(shared);
  view[MAIN_ALIVE_AT] = now();
  // Comes back to the event loop every 100 ms while it is not busy: the worker's stall clock.
  const alive = setInterval(() => view[MAIN_ALIVE_AT] = now(), 100);
  const worker = new Worker(o.workerUrl ?? new URL("./front_door_worker.ts", import.meta.url), {
    type: "module",
    name: FRONT_DOOR_WORKER_NAME,
  });
  const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);
  const listening = Promise.withResolvers<
    Result<{ hostname: string; port: number }, FrontDoorError>
  >();
  const stopped = Promise.withResolvers<void>();
  worker.onmessage = (e: MessageEvent<FromWorker>) => {
    const m = e.data;
    switch (m.type) {
      case "listening":
        listening.resolve(ok({ hostname: m.hostname, port: m.port }));
        return;
      case "listenFailed":
        listening.resolve(err({ name: m.name, message: m.message }));
        return;
      case "request":
        void answer(m);
        return;
      case "log":
        o.log?.(m.entry);
        return;
      case "standing":
        return; // the elector's own log lines say it; actions read the shared memory
      case "stopped":
        stopped.resolve();
        return;
    }
  };
  worker.onerror = (e) => {
    e.preventDefault();
    listening.resolve(
      err({ name: "WorkerError", message: `front door worker failed: ${e.message}` }),
    );
    o.log?.({ level: "error", msg: `front door worker failed: ${e.message}`, reason: "Internal" });
  };
  const answer = async (m: Extract<FromWorker, { type: "request" }>) => {
    let res: Response;
    try {
      res = await o.handler(
        new Request(m.url, {
          method: m.method,
          headers: m.headers,
          ...(m.body ? { body: m.body } : {}),
        }),
      );
    } catch (e) {
      res = new Response(`internal error: ${e instanceof Error ? e.message : String(e)}\n`, {
        status: 500,
      });
    }
    const body = new Uint8Array(await res.arrayBuffer());
    send({ type: "response", id: m.id, status: res.status, headers: [...res.headers], body }, [
      body.buffer,
    ]);
  };
  const maxTickAgeMs = o.maxTickAgeMs ?? 60_000;
  const health = createHealthState({
    now,
    maxTickAgeMs,
    onChange: (f) =>
      send({
        type: "health",
        lastTick: f.lastTick,
        ticked: f.ticked,
        checks: f.checks.map((c) => ({ ...c, detail: redactor.scrub(c.detail) })),
      }),
  });
  send({
    type: "init",
    shared,
    http: o.http,
    maxTickAgeMs,
    mainStallLimitMs: o.mainStallLimitMs ?? 60_000,
  });
  const listened = await listening.promise;
  if (!listened.ok) {
    clearInterval(alive);
    worker.terminate();
    return listened;
  }
  // The worker starts with the probes' first answer, not with an empty readiness list.
  health.setCachesSynced(false);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    send({ type: "stop" });
    await stopped.promise;
    clearInterval(alive);
    worker.terminate();
  };
  const elector: Elector = {
    isLeader: () => o.lease === undefined || now() < view[LEADER_UNTIL]!,
    start: () => {
      if (o.lease) send({ type: "lease", lease: o.lease });
    },
    // The Lease is released with the listener: close() does both, once.
    stop: close,
  };
  return ok({
    ...listened.value,
    health,
    elector,
    close,
    kill: () => {
      closed = true;
      clearInterval(alive);
      worker.terminate();
    },
  });
}

/**
 * The messages between the daemon's main thread and its front-door worker (front_door.ts,
 * front_door_worker.ts), and the shared memory they both read. The worker owns the HTTP
 * listener and the Lease renewal, so a long decision on the main thread delays neither the
 * probes nor the renewals; everything else the listener receives is handed to the main thread.
 *
 * May import: core/, adapters/.
 */
import type { Check } from "../adapters/telemetry/health.ts";
import type { RestConfig } from "../adapters/kubernetes/rest.ts";
import type { LogEntry } from "../adapters/kubernetes/log.ts";
import type { LeaderConfig } from "../core/leader.ts";

/** The worker's name: main.ts serves the front door when it runs as a worker of this name. */
export const FRONT_DOOR_WORKER_NAME = "proxscale-front-door";

/** Index in the shared Float64Array: until when (epoch ms) this replica may act as leader. */
export const LEADER_UNTIL = 0;
/** Index: when the main thread last came back to its event loop (epoch ms). */
export const MAIN_ALIVE_AT = 1;
/** Slots in the shared Float64Array. */
export const SHARED_SLOTS = 2;

/** The Lease the worker holds for the daemon. */
export type LeaseSpec = {
  /** The API server connection (plain data: the worker makes its own client). */
  kc: RestConfig;
  namespace: string;
  name: string;
  identity: string;
  config?: LeaderConfig;
};

export type ToWorker =
  | {
    type: "init";
    shared: SharedArrayBuffer;
    http: { hostname: string; port: number };
    maxTickAgeMs: number;
    /**
     * The main thread is taken as gone when it has not come back to its event loop for this
     * long (ms): the worker stops renewing and /healthz fails, so a hung daemon is replaced.
     */
    mainStallLimitMs: number;
  }
  | { type: "health"; lastTick: number; ticked: boolean; checks: Check[] }
  | { type: "lease"; lease: LeaseSpec }
  | {
    type: "response";
    id: number;
    status: number;
    headers: [string, string][];
    body: Uint8Array<ArrayBuffer>;
  }
  | { type: "stop" };

export type FromWorker =
  | { type: "listening"; hostname: string; port: number }
  | { type: "listenFailed"; name: string; message: string }
  | {
    type: "request";
    id: number;
    method: string;
    url: string;
    headers: [string, string][];
    body: Uint8Array<ArrayBuffer> | null;
  }
  | { type: "log"; entry: LogEntry }
  | { type: "standing"; leading: boolean; why?: string }
  | { type: "stopped" };

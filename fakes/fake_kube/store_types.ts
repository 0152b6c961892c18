/**
 * The data shapes of KubeStore's API (options, results, watch events) and of its internal
 * collections, kept apart from the store's behaviour.
 */
import type { Result } from "../result.ts";
import type { FieldValidation } from "./admission.ts";
import type { ControllerOptions } from "./controllers.ts";
import type { KObj } from "./objects.ts";
import type { ManagerEntry } from "./ownership.ts";
import type { ResourceDef } from "./resources.ts";
import type { FieldRequirement, LabelRequirement } from "./selectors.ts";
import type { Status } from "./status.ts";

/** Result of every store operation: the value or the Status the API server would send. */
export type StoreResult<T> = Result<T, Status>;

/** Options shared by create, update and patch. */
export type WriteOptions = {
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  /** Who writes (for server-side apply ownership); unrecorded when absent. */
  fieldManager?: string;
  subresource?: "status";
  /**
   * The managedFields entries this write leaves (server-side apply computes them itself);
   * absent: an `Update` entry for what `fieldManager` changed.
   */
  owners?: ManagerEntry[];
  /** Who writes, for admission policies (`request.userInfo`); empty when absent. */
  user?: { username: string; groups: string[] };
};

/** A successful write: the stored object, whether it was created, and `Warning` texts. */
export type WriteResult = { object: KObj; created: boolean; warnings: string[] };

/** Which objects a list or watch covers. */
export type ListOptions = { namespace?: string; labelSelector?: string; fieldSelector?: string };

/** List options plus the resourceVersion to start from ("" or "0": current state first). */
export type WatchOptions = ListOptions & { resourceVersion?: string };

/** The five watch event types: ADDED, MODIFIED, DELETED, BOOKMARK and ERROR. */
export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
/** One watch event; `object` is a stored object (or a Status for ERROR). */
export type WatchEvent = { type: WatchEventType; object: KObj | Status };

/**
 * DeleteOptions the fake honours. Orphan and Foreground add the `orphan` or
 * `foregroundDeletion` finalizer, which a garbage collector (fakes/cluster/controllers/)
 * must finish; without one running, such objects stay marked.
 */
export type DeleteOptions = {
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
  dryRun?: boolean;
  propagationPolicy?: "Background" | "Orphan" | "Foreground";
};

/** Delete answers with the object (Pods, or objects that only got marked) or a Status. */
export type DeleteResult = { object?: KObj; status?: Status };

/** Store construction options; times are epoch milliseconds. */
export type StoreOptions = {
  now: () => number;
  random: () => number;
  /** Events kept per resource before older ones are dropped (410 for watches before them). */
  historyLimit?: number;
  /** First resourceVersion; defaults to a time-derived value so restarts never go backwards. */
  initialResourceVersion?: number;
  /** Graceful pod deletion: finish after grace × scale (default 1), or "hold" for ever. */
  gracefulDeletion?: { scale: number } | "hold";
  /**
   * Track field ownership in managedFields: apply conflicts (409) and removals. Default true;
   * false keeps the older "apply always wins, managedFields untouched" behaviour.
   */
  applyOwnership?: boolean;
} & ControllerOptions;

/** One committed write in a resource's watch history. */
export type HistoryEvent = {
  type: "ADDED" | "MODIFIED" | "DELETED";
  rv: number;
  obj: KObj;
  prev?: KObj;
};

/** A live watch subscription. */
export type Watcher = {
  namespace: string | undefined;
  labels: LabelRequirement[];
  fields: FieldRequirement[];
  fromRv: number;
  send: (e: WatchEvent) => void;
};

/** One stored object with its cached wire forms (list item / full object). */
export type Entry = { obj: KObj; itemJson?: string };

/** All objects, history and watchers of one group-resource. */
export type Collection = {
  byNs: Map<string, Map<string, Entry>>;
  history: HistoryEvent[];
  /** Highest resourceVersion whose event was dropped: watches from below it get 410. */
  droppedUpTo: number;
  watchers: Set<Watcher>;
};

/** Observers run after each committed write (controllers: PDB status, CRDs, namespaces). */
export type WriteHook = (
  def: ResourceDef,
  type: HistoryEvent["type"],
  obj: KObj,
  prev?: KObj,
) => void;

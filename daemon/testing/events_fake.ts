/**
 * An EventRecorder stand-in for the daemon's unit tests: every `record` call kept in order
 * (subject and reason), each answered as written. The real recorder's dedupe, counts and uid
 * lookups are pinned by tests/kubernetes_writers_test.ts against the fake API server.
 *
 * May import: core/, adapters/kubernetes/events.ts.
 */
import type { EventRecorder, EventSubject } from "../../adapters/kubernetes/events.ts";
import type { Reason } from "../../core/reason.ts";

/** The recorded calls and the recorder that records them. */
export function recordingEvents(): {
  calls: { subject: EventSubject; reason: Reason }[];
  events: EventRecorder;
} {
  const calls: { subject: EventSubject; reason: Reason }[] = [];
  const events = {
    record: (subject: EventSubject, reason: Reason) => {
      calls.push({ subject, reason });
      return Promise.resolve({ ok: true, value: { name: "e", count: 1 } });
    },
  } as unknown as EventRecorder;
  return { calls, events };
}

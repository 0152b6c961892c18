/**
 * A KubeClient stand-in for writer tests: it records every request (method, path, query,
 * Content-Type and body) and answers from a handler, with no socket, so a test can assert the
 * exact requests a writer sends and script the API server's answers (404, 409, 429 ...).
 *
 * May import: adapters/kubernetes/client.ts, core/result.ts.
 */
import { err, ok, type Result } from "../../../core/result.ts";
import type { KubeClient, KubeError, RequestOptions } from "../client.ts";

/** One request as the writer sent it. */
export type Recorded = {
  method: string;
  path: string;
  query?: Record<string, string>;
  contentType?: string;
  body?: unknown;
};

/**
 * An answer: a 2xx with its body, any other status with a Status reason and message, or (with
 * `transport`) no answer at all.
 */
export type Answer = {
  status: number;
  body?: unknown;
  reason?: string;
  message?: string;
  /** Status details.causes messages (a PDB's refusal, say). */
  causes?: string[];
  transport?: string;
};

/** The stub and what it saw. `client` is passed where a KubeClient is expected. */
export type RecordingClient = { client: KubeClient; requests: Recorded[] };

/** A recording client answering each request with `answer(request, index)`. */
export function recordingClient(answer: (r: Recorded, i: number) => Answer): RecordingClient {
  const requests: Recorded[] = [];
  const requestJson = (
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<Result<{ status: number; body: unknown }, KubeError>> => {
    const r: Recorded = { method, path };
    if (opts.query) r.query = opts.query;
    if (opts.contentType) r.contentType = opts.contentType;
    if (opts.body !== undefined) r.body = structuredClone(opts.body);
    requests.push(r);
    const a = answer(r, requests.length - 1);
    if (a.transport !== undefined) {
      return Promise.resolve(err({ kind: "Transport", message: a.transport }));
    }
    if (a.status >= 200 && a.status < 300) {
      return Promise.resolve(ok({ status: a.status, body: a.body }));
    }
    return Promise.resolve(err({
      kind: "Status",
      code: a.status,
      reason: a.reason ?? "",
      message: a.message ?? "",
      causes: a.causes ?? [],
    }));
  };
  return { client: { requestJson } as unknown as KubeClient, requests };
}

/** A recording client answering its requests from `answers` in order (then 500s). */
export function scriptedClient(answers: Answer[]): RecordingClient {
  return recordingClient((_, i) =>
    answers[i] ?? { status: 500, reason: "InternalError", message: "unscripted request" }
  );
}

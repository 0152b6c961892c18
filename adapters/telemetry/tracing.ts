/**
 * Trace spans for what proxscale does: one per reconcile, per action (LaunchClaim, DeleteClaim,
 * ...), per job, and per Proxmox VE or Kubernetes call, each carrying the NodeClaim, the
 * NodePool and the decision's Reason so a trace explains why a VM was created or deleted.
 *
 * Exporting (operators):
 * - Spans are made with `npm:@opentelemetry/api`. Without `OTEL_DENO=true` that API is a no-op
 *   and tracing costs nearly nothing.
 * - `OTEL_DENO=true` turns on Deno's built-in OpenTelemetry, which registers the global tracer
 *   and exports over OTLP: `OTEL_EXPORTER_OTLP_ENDPOINT` (default `http://localhost:4318`),
 *   `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf` default, `http/json`, or `console` to print
 *   spans), `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME` (set it to `proxscale`),
 *   `OTEL_RESOURCE_ATTRIBUTES`. Deno always samples; there is no gRPC exporter.
 * - Deno adds its own spans for incoming `Deno.serve` requests and outgoing `fetch()`; traffic
 *   through `node:https` (the PVE client, @kubernetes/client-node) is not seen by Deno, which is
 *   why the adapters wrap each call in `pveCall` / `kubeCall` here.
 *
 * Span attributes: `proxscale.nodeclaim`, `proxscale.nodepool`, `proxscale.reason` (the Reason
 * code), `proxscale.reason_message`, plus `proxscale.vmid`, `proxscale.host`, `proxscale.node`,
 * `proxscale.pod`, `proxscale.action`, `proxscale.job`, `proxscale.operation` where they apply.
 * Every name, attribute and error message goes through the redaction guard (redact.ts).
 *
 * Nesting: the current span is tracked in an AsyncLocalStorage of our own as well as in the
 * OpenTelemetry context, so parent/child links hold whether or not a global context manager is
 * registered (Deno registers one only with OTEL_DENO=true). A reconcile pass is always a root.
 * A job runs later, in the queue worker, outside the action that queued it: the action's
 * `SpanRef` travels in the job's data and the job span is made its child (same trace), also
 * across a restart or another replica with the Redis queue. `nodeclaim` and `nodepool` are
 * inherited by child spans that do not set them, so every PVE and Kubernetes call of a launch
 * names its NodeClaim.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import {
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Tracer,
} from "@opentelemetry/api";
import type { Reason } from "../../core/reason.ts";
import { defaultRedactor, describeError, type Redactor } from "./redact.ts";

/** An attribute value; a Reason expands to `<key>` (code) and `<key>_message`. */
export type AttrValue = string | number | boolean | Reason | undefined;

/**
 * Span attributes in domain words. Keys without a dot get the `proxscale.` prefix
 * (`nodeclaim` -> `proxscale.nodeclaim`); dotted keys (`http.request.method`) are kept.
 * Undefined values are dropped.
 */
export type SpanAttrs = {
  nodeclaim?: string | undefined;
  nodepool?: string | undefined;
  reason?: Reason | undefined;
  vmid?: number | undefined;
  host?: string | undefined;
  node?: string | undefined;
  pod?: string | undefined;
  [key: string]: AttrValue;
};

/** Where a span sits: enough to make a later span (a queued job) its child. */
export type SpanRef = { traceId: string; spanId: string };

/** The span a traced function receives: every write is scrubbed of registered secrets. */
export interface SpanHandle {
  setAttributes(attrs: SpanAttrs): void;
  /** Writes the decision that explains this span (`proxscale.reason`, `..._message`). */
  recordDecision(reason: Reason): void;
  addEvent(name: string, attrs?: SpanAttrs): void;
  /** Marks the span failed with a scrubbed one-line description of `error`. */
  fail(error: unknown): void;
  /** 32 hex digits, or undefined when tracing is off (no-op tracer). */
  readonly traceId: string | undefined;
  readonly spanId: string | undefined;
  /** This span as a parent for work that runs later (undefined when tracing is off). */
  ref(): SpanRef | undefined;
}

/** Writes a decision on a span; a free function so call sites read `recordDecision(span, r)`. */
export function recordDecision(span: SpanHandle, reason: Reason): void {
  span.recordDecision(reason);
}

/** The tracing API the daemon, executor, workers and adapters call. */
export interface Tracing {
  /**
   * Runs `fn` inside a span named `name`, child of the current span. A throw marks the span
   * failed and is rethrown; a returned `{ ok: false, error }` Result marks it failed too.
   */
  withSpan<T>(name: string, attrs: SpanAttrs, fn: (span: SpanHandle) => T | Promise<T>): Promise<T>;
  /** One pass of the observe-decide-act loop: always a new trace (root span). */
  reconcile<T>(fn: (span: SpanHandle) => T | Promise<T>, attrs?: SpanAttrs): Promise<T>;
  /** Carrying out one core action (`LaunchClaim`, `DeleteClaim`, `Cordon`, ...). */
  action<T>(
    kind: string,
    attrs: SpanAttrs,
    fn: (span: SpanHandle) => T | Promise<T>,
  ): Promise<T>;
  /**
   * One queued job run by a worker (`launch`, `delete`, ...), keyed by its stable id. With
   * `parent` (the queuing action's `ref()`), the job span is that action's child.
   */
  job<T>(
    kind: string,
    attrs: SpanAttrs & { job?: string },
    fn: (span: SpanHandle) => T | Promise<T>,
    parent?: SpanRef,
  ): Promise<T>;
  /** One Proxmox VE API call (`clone`, `config`, `start`, `destroy`, `task` ...). */
  pveCall<T>(
    operation: string,
    attrs: SpanAttrs,
    fn: (span: SpanHandle) => T | Promise<T>,
  ): Promise<T>;
  /** One Kubernetes API call (`patch` on `nodes`, `create` on `pods/eviction` ...). */
  kubeCall<T>(
    verb: string,
    resource: string,
    attrs: SpanAttrs,
    fn: (span: SpanHandle) => T | Promise<T>,
  ): Promise<T>;
  /** The span the caller runs in, if any (for logs: trace_id). */
  current(): SpanHandle | undefined;
  /** The active trace id, from our span or the OpenTelemetry context (e.g. Deno.serve's). */
  traceId(): string | undefined;
}

export type TracingOptions = {
  /** Defaults to the global tracer `proxscale` (Deno's when OTEL_DENO=true, else a no-op). */
  tracer?: Tracer;
  redactor?: Redactor;
};

/** Builds the tracing API over a tracer; tests pass one from an in-memory provider. */
export function createTracing(opts: TracingOptions = {}): Tracing {
  const tracer = opts.tracer ?? trace.getTracer("proxscale");
  const redactor = opts.redactor ?? defaultRedactor;
  const store = new AsyncLocalStorage<Handle>();

  const toOtel = (attrs: SpanAttrs) => {
    const out: Record<string, string | number | boolean> = {};
    for (const [key, v] of Object.entries(attrs)) {
      if (v === undefined) continue;
      const k = redactor.scrub(key.includes(".") ? key : `proxscale.${key}`);
      if (typeof v === "object") {
        out[k] = redactor.scrub(v.code);
        out[`${k}_message`] = redactor.scrub(v.message);
      } else if (typeof v === "string") {
        out[k] = redactor.scrub(v);
      } else {
        out[k] = redactor.scrubValue(v) as string | number | boolean;
      }
    }
    return out;
  };

  class Handle implements SpanHandle {
    constructor(readonly raw: Span, readonly inherited: SpanAttrs) {}
    ref() {
      const c = this.raw.spanContext();
      return isSpanContextValid(c) ? { traceId: c.traceId, spanId: c.spanId } : undefined;
    }
    get traceId() {
      const c = this.raw.spanContext();
      return isSpanContextValid(c) ? c.traceId : undefined;
    }
    get spanId() {
      const c = this.raw.spanContext();
      return isSpanContextValid(c) ? c.spanId : undefined;
    }
    setAttributes(attrs: SpanAttrs) {
      this.raw.setAttributes(toOtel(attrs));
    }
    recordDecision(reason: Reason) {
      this.raw.setAttributes(toOtel({ reason }));
    }
    addEvent(name: string, attrs: SpanAttrs = {}) {
      this.raw.addEvent(redactor.scrub(name), toOtel(attrs));
    }
    fail(error: unknown) {
      const message = describeError(error, redactor);
      this.raw.setStatus({ code: SpanStatusCode.ERROR, message });
      const name = error instanceof Error
        ? error.name
        : typeof error === "object" && error !== null && "kind" in error
        ? String(error.kind)
        : "Error";
      // Our own exception record (never the raw Error): its stack and fields may quote a secret.
      this.raw.recordException({ name: redactor.scrub(name), message });
    }
  }

  const run = async <T>(
    name: string,
    kind: SpanKind,
    attrs: SpanAttrs,
    fn: (span: SpanHandle) => T | Promise<T>,
    from: "current" | "root" | SpanRef = "current",
  ): Promise<T> => {
    const parent = from === "current" ? store.getStore() : undefined;
    const parentCtx = typeof from === "object" && isSpanContextValid({ ...from, traceFlags: 1 })
      ? trace.setSpanContext(ROOT_CONTEXT, {
        ...from,
        traceFlags: TraceFlags.SAMPLED,
        isRemote: true,
      })
      : from === "root"
      ? trace.deleteSpan(context.active())
      : parent
      ? trace.setSpan(context.active(), parent.raw)
      : context.active();
    const inherited = definedOnly({
      nodeclaim: attrs.nodeclaim ?? parent?.inherited.nodeclaim,
      nodepool: attrs.nodepool ?? parent?.inherited.nodepool,
    });
    const raw = tracer.startSpan(
      redactor.scrub(name),
      { kind, attributes: toOtel({ ...attrs, ...inherited }) },
      parentCtx,
    );
    const handle = new Handle(raw, inherited);
    try {
      const result = await context.with(
        trace.setSpan(parentCtx, raw),
        () => store.run(handle, () => fn(handle)),
      );
      if (isFailedResult(result)) handle.fail(result.error);
      return result;
    } catch (e) {
      handle.fail(e);
      throw e;
    } finally {
      raw.end();
    }
  };

  return {
    withSpan: (name, attrs, fn) => run(name, SpanKind.INTERNAL, attrs, fn),
    reconcile: (fn, attrs = {}) => run("reconcile", SpanKind.INTERNAL, attrs, fn, "root"),
    action: (kind, attrs, fn) =>
      run(`action ${kind}`, SpanKind.INTERNAL, { ...attrs, action: kind }, fn),
    job: (kind, attrs, fn, parent) =>
      run(`job ${kind}`, SpanKind.CONSUMER, attrs, fn, parent ?? "current"),
    pveCall: (operation, attrs, fn) =>
      run(`pve ${operation}`, SpanKind.CLIENT, { ...attrs, operation }, fn),
    kubeCall: (verb, resource, attrs, fn) =>
      run(
        `kubernetes ${verb} ${resource}`,
        SpanKind.CLIENT,
        { ...attrs, operation: `${verb} ${resource}` },
        fn,
      ),
    current: () => store.getStore(),
    traceId() {
      const own = store.getStore()?.traceId;
      if (own) return own;
      const active = trace.getSpan(context.active())?.spanContext();
      return active && isSpanContextValid(active) ? active.traceId : undefined;
    },
  };
}

function definedOnly(attrs: Record<string, AttrValue>): SpanAttrs {
  return Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== undefined));
}

function isFailedResult(v: unknown): v is { ok: false; error: unknown } {
  return typeof v === "object" && v !== null && "ok" in v && v.ok === false && "error" in v;
}

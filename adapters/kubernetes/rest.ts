/**
 * The daemon's own Kubernetes REST transport: kubeconfig / in-cluster credentials and plain
 * `fetch` (Deno.createHttpClient for the cluster CA and client certificates).
 *
 * Why not @kubernetes/client-node here (it stays the chosen library elsewhere): importing it
 * loads its generated API and ~900 model classes, which alone raises a process from ~33 MB to
 * ~115 MB resident, most of the 150 MB the daemon may use while watching 1,000 nodes and 30,000
 * pods (issue 6, docs/performance.md). The daemon only needs JSON requests, list and watch, so
 * it talks REST directly; client-node is loaded lazily (`await import`) only for kubeconfig
 * users that authenticate through an exec or auth-provider plugin.
 *
 * Reading credentials (kubeconfig YAML, the pod's service account) lives in kubeconfig.ts: this
 * module loads no YAML parser, so the daemon's front-door thread, which only sends requests for
 * a RestConfig it is handed as plain data, does not pay for one (docs/performance.md).
 */

/** Where the API server is and how to prove who we are; built from a kubeconfig or the pod. */
export type RestConfig = {
  /** https://host:port, no trailing slash. */
  server: string;
  /** PEM of the CA that signed the API server's certificate (empty: system roots). */
  caCerts: string[];
  clientCertPem?: string;
  clientKeyPem?: string;
  token?: string;
  /** Re-read every minute: projected service account tokens rotate. */
  tokenFile?: string;
  basic?: { username: string; password: string };
  insecureSkipTlsVerify: boolean;
  /** Namespace of the current context (kubeconfig) or of the pod (in-cluster). */
  namespace: string;
  /** Kubeconfig text when the user needs a client-node auth plugin (exec, auth-provider). */
  pluginKubeconfig?: string;
};

/** One request's options; `query` values are set (not appended). */
export type RestRequest = {
  query?: Record<string, string>;
  /** Sent as is when a string, else JSON-encoded. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
};

/** Sends requests for one RestConfig; holds the TLS client and the current token. */
export class RestTransport {
  readonly config: RestConfig;
  #client: Deno.HttpClient | undefined;
  #token: { value: string; readAt: number } | undefined;
  #plugin: Promise<() => Promise<Record<string, string>>> | undefined;

  constructor(config: RestConfig) {
    this.config = config;
  }

  #httpClient(): Deno.HttpClient | undefined {
    const c = this.config;
    if (!c.server.startsWith("https:")) return undefined;
    if (!c.caCerts.length && !c.clientCertPem) return undefined;
    if (!this.#client) {
      const opts: Deno.CreateHttpClientOptions = {};
      if (c.caCerts.length) opts.caCerts = c.caCerts;
      this.#client = c.clientCertPem && c.clientKeyPem
        ? Deno.createHttpClient({ ...opts, cert: c.clientCertPem, key: c.clientKeyPem })
        : Deno.createHttpClient(opts);
    }
    return this.#client;
  }

  async #authHeaders(): Promise<Record<string, string>> {
    const c = this.config;
    if (c.pluginKubeconfig) return (await this.#pluginAuth())();
    if (c.tokenFile) {
      const now = Date.now();
      if (!this.#token || now - this.#token.readAt > 60_000) {
        this.#token = { value: (await Deno.readTextFile(c.tokenFile)).trim(), readAt: now };
      }
      return { Authorization: `Bearer ${this.#token.value}` };
    }
    if (c.token) return { Authorization: `Bearer ${c.token}` };
    if (c.basic) {
      return { Authorization: `Basic ${btoa(`${c.basic.username}:${c.basic.password}`)}` };
    }
    return {};
  }

  /** Exec / auth-provider users: the only path that loads client-node, and only then. */
  #pluginAuth(): Promise<() => Promise<Record<string, string>>> {
    this.#plugin ??= (async () => {
      const { KubeConfig } = await import("@kubernetes/client-node");
      const kc = new KubeConfig();
      kc.loadFromString(this.config.pluginKubeconfig!);
      return async () => {
        const o: { headers?: Record<string, unknown> } = {};
        await kc.applyToHTTPSOptions(o);
        const a = o.headers?.Authorization ?? o.headers?.authorization;
        return typeof a === "string" ? { Authorization: a } : {};
      };
    })();
    return this.#plugin;
  }

  /** Sends one request; the Response is returned whatever its status. Throws on transport errors. */
  async fetch(method: string, path: string, r: RestRequest = {}): Promise<Response> {
    if (this.config.insecureSkipTlsVerify && this.config.server.startsWith("https:")) {
      throw new Error("insecure-skip-tls-verify over https is not supported: give the cluster CA");
    }
    const url = new URL(this.config.server + path);
    for (const [k, v] of Object.entries(r.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = {
      Accept: r.accept ?? "application/json",
      ...(await this.#authHeaders()),
    };
    let body: string | undefined;
    if (r.body !== undefined) {
      headers["Content-Type"] = r.contentType ?? "application/json";
      body = typeof r.body === "string" ? r.body : JSON.stringify(r.body);
    }
    const init: RequestInit & { client?: Deno.HttpClient } = { method, headers };
    if (body !== undefined) init.body = body;
    if (r.signal) init.signal = r.signal;
    const client = this.#httpClient();
    if (client) init.client = client;
    return await fetch(url, init);
  }

  /** Releases the TLS client (connections close once idle). */
  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }
}

/**
 * Splits a byte stream into lines (watch responses are one JSON object per line). The last line
 * is yielded even without a trailing newline. `signal` ends the reading at once when it aborts:
 * aborting the fetch alone does not always end a pending read of its body (seen with Deno 2.9.6
 * after the server dropped other watches), which left a stopped informer waiting for ever.
 */
export async function* lines(
  body: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): AsyncGenerator<string> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    if (signal?.aborted) {
      cancel();
      return;
    }
    let buf = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done || signal?.aborted) break;
      buf += value;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) yield line;
      }
    }
    if (buf.trim() && !signal?.aborted) yield buf.trim();
  } finally {
    signal?.removeEventListener("abort", cancel);
    if (!signal?.aborted) cancel();
  }
}

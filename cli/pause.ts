/**
 * `proxscale pause` and `proxscale resume`: maintenance mode, in which the daemon keeps deciding
 * and reporting (reason code `Paused`) but carries nothing out (daemon/maintenance.ts).
 * In-cluster the switch is persistent: the annotation `proxscale.io/paused` on the ConfigMap
 * `proxscale-maintenance` in proxscale's namespace, which every replica reads each pass.
 * For a standalone daemon (systemd), `--url` flips the switch over its HTTP port instead.
 */
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { parseArgs } from "node:util";
import type { Command, Io } from "./command.ts";
import { isNotFound, KubeClient } from "../adapters/kubernetes/client.ts";
import {
  kubeClientFromDefault,
  kubeClientFromKubeconfig,
} from "../adapters/kubernetes/kubeconfig.ts";
import { DEFAULT_NAMESPACE } from "../adapters/config/crd_manifests.ts";
import { MAINTENANCE_CONFIGMAP, pausePatch } from "../daemon/maintenance.ts";
import { tokenHeaders } from "./http_token.ts";

const usage = (verb: string) =>
  `proxscale ${verb} [--kubeconfig FILE] [--namespace NS] | --url http://HOST:PORT [--token-file FILE]`;

const help = (verb: string, paused: boolean) =>
  `usage: ${usage(verb)}

${
    paused
      ? "Enters maintenance mode: proxscale keeps deciding and reports each decision with the reason\ncode Paused, but creates, deletes, cordons and evicts nothing until `proxscale resume`."
      : "Leaves maintenance mode: proxscale carries out its decisions again."
  }

  --kubeconfig FILE  cluster to write the switch to (default: in-cluster or ~/.kube/config);
                     sets the annotation proxscale.io/paused on ConfigMap ${MAINTENANCE_CONFIGMAP}
  --namespace NS     proxscale's namespace (default ${DEFAULT_NAMESPACE})
  --url URL          a standalone daemon's HTTP port instead (POST /${
    paused ? "pause" : "resume"
  }; not persistent)
  --token-file FILE  with --url: the bearer token the daemon requires when it listens beyond
                     loopback (its --http-token-file)`;

/** Writes the cluster switch: creates the ConfigMap if missing, then merge-patches it. */
export async function setClusterPaused(
  kube: KubeClient,
  namespace: string,
  paused: boolean,
  by: string,
  now: number,
): Promise<{ ok: true } | { ok: false; error: string }> {
  const path = `/api/v1/namespaces/${namespace}/configmaps`;
  const got = await kube.requestJson("GET", `${path}/${MAINTENANCE_CONFIGMAP}`);
  if (!got.ok && !isNotFound(got.error)) return { ok: false, error: got.error.message };
  if (!got.ok) {
    if (!paused) return { ok: true }; // nothing to resume from
    const made = await kube.requestJson("POST", path, {
      body: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: MAINTENANCE_CONFIGMAP, namespace, ...pausePatch(true, by, now).metadata },
      },
    });
    return made.ok ? { ok: true } : { ok: false, error: made.error.message };
  }
  const r = await kube.requestJson("PATCH", `${path}/${MAINTENANCE_CONFIGMAP}`, {
    body: pausePatch(paused, by, now),
    contentType: "application/merge-patch+json",
  });
  return r.ok ? { ok: true } : { ok: false, error: r.error.message };
}

function switchCommand(paused: boolean): Command {
  const verb = paused ? "pause" : "resume";
  return {
    name: verb,
    summary: COMMAND_SUMMARIES[verb],
    usage: usage(verb),
    run: async (args: string[], io: Io) => {
      let values;
      try {
        ({ values } = parseArgs({
          args,
          options: {
            kubeconfig: { type: "string" },
            namespace: { type: "string", short: "n" },
            url: { type: "string" },
            "token-file": { type: "string" },
            help: { type: "boolean", short: "h" },
          },
        }));
      } catch (e) {
        io.err(`${(e as Error).message}\nusage: ${usage(verb)}`);
        return 2;
      }
      if (values.help) {
        io.out(help(verb, paused));
        return 0;
      }
      if (values.url !== undefined) {
        const headers = await tokenHeaders(values["token-file"]);
        if (!headers.ok) {
          io.err(`proxscale ${verb}: ${headers.error}`);
          return 2;
        }
        try {
          const res = await fetch(new URL(`/${verb}`, values.url), {
            method: "POST",
            headers: headers.value,
            signal: AbortSignal.timeout(5_000),
          });
          const body = await res.text();
          if (!res.ok) {
            io.err(`proxscale ${verb}: ${values.url} answered ${res.status}: ${body}`);
            return 1;
          }
          const state = JSON.parse(body) as { paused: boolean; cluster?: boolean };
          io.out(
            state.paused
              ? `paused: ${values.url} decides and reports but does not act${
                !paused && state.cluster ? " (still paused by the cluster annotation)" : ""
              }`
              : `resumed: ${values.url} acts on its decisions again`,
          );
          return state.paused === paused ? 0 : 1;
        } catch (e) {
          io.err(`proxscale ${verb}: ${values.url}: ${e instanceof Error ? e.message : e}`);
          return 1;
        }
      }
      const kube = values.kubeconfig !== undefined
        ? kubeClientFromKubeconfig(await Deno.readTextFile(values.kubeconfig))
        : kubeClientFromDefault();
      const ns = values.namespace ?? DEFAULT_NAMESPACE;
      const by = Deno.env.get("USER") ?? "proxscale-cli";
      const r = await setClusterPaused(kube, ns, paused, by, Date.now());
      if (!r.ok) {
        io.err(`proxscale ${verb}: ConfigMap ${ns}/${MAINTENANCE_CONFIGMAP}: ${r.error}`);
        return 1;
      }
      io.out(
        paused
          ? `paused: ConfigMap ${ns}/${MAINTENANCE_CONFIGMAP} annotated proxscale.io/paused=true; ` +
            "every replica stops acting at its next pass"
          : `resumed: annotation removed from ConfigMap ${ns}/${MAINTENANCE_CONFIGMAP}`,
      );
      return 0;
    },
  };
}

/** `proxscale pause`. */
export const pauseCommand: Command = switchCommand(true);
/** `proxscale resume`. */
export const resumeCommand: Command = switchCommand(false);

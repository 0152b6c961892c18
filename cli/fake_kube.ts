/**
 * `proxscale fake-kube`: runs the fake Kubernetes API server (fakes/fake_kube) alone and writes
 * a kubeconfig for it, so kubectl, client-node or the daemon can be pointed at it. Serves
 * until SIGINT or SIGTERM.
 */
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { parseArgs } from "node:util";
import { type Command, type Io, stopped } from "./command.ts";
import { startFakeKube } from "../fakes/fake_kube/server.ts";

export const fakeKubeCommand: Command = {
  name: "fake-kube",
  summary: COMMAND_SUMMARIES["fake-kube"],
  usage:
    "proxscale fake-kube [--port P] [--kubeconfig FILE] [--http] [--token T] [--seed N] [--history N]",
  run(args, io, stop) {
    return runFakeKube(args, io, () => stopped(stop));
  },
};

/** The command with an injectable stop condition (tests cannot send signals safely). */
export function fakeKubeCommandWith(untilStopped: () => Promise<void>): Command {
  return { ...fakeKubeCommand, run: (args, io) => runFakeKube(args, io, untilStopped) };
}

function bad(io: Io, message: string): number {
  io.err(`proxscale fake-kube: ${message}\nusage: ${fakeKubeCommand.usage}`);
  return 2;
}

async function runFakeKube(
  args: string[],
  io: Io,
  untilStopped: () => Promise<void>,
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        help: { type: "boolean", short: "h" },
        port: { type: "string", default: "6443" },
        kubeconfig: { type: "string" },
        http: { type: "boolean", default: false },
        token: { type: "string" },
        seed: { type: "string" },
        history: { type: "string" },
      },
    }));
  } catch (e) {
    return bad(io, e instanceof Error ? e.message : String(e));
  }
  if (values.help) {
    io.out(
      `usage: ${fakeKubeCommand.usage}\n\n${fakeKubeCommand.summary}.\n` +
        "HTTPS with a generated CA and a bearer token by default (needs openssl); --http serves\n" +
        "plain HTTP without authentication. RBAC is enforced from the Roles and bindings you\n" +
        "apply (the admin token is in system:masters); `kubectl create token NAME -n NS` gives a\n" +
        "ServiceAccount token. Runs until SIGINT or SIGTERM.",
    );
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return bad(io, "--port must be 0-65535");
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isInteger(seed)) return bad(io, "--seed must be an integer");
  const history = values.history === undefined ? undefined : Number(values.history);
  if (history !== undefined && !(Number.isInteger(history) && history >= 0)) {
    return bad(io, "--history must be a non-negative integer");
  }
  let kube;
  try {
    kube = await startFakeKube({
      port,
      tls: !values.http,
      ...(values.token ? { token: values.token } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(history !== undefined ? { historyLimit: history } : {}),
    });
  } catch (e) {
    io.err(`proxscale fake-kube: cannot start: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  try {
    if (values.kubeconfig) {
      await Deno.writeTextFile(values.kubeconfig, kube.kubeconfig(), { mode: 0o600 });
    }
    io.err(
      `fake-kube: serving ${kube.url}` +
        (values.kubeconfig ? `; kubeconfig written to ${values.kubeconfig}` : "") +
        (values.http ? "" : `; bearer token ${kube.token}`),
    );
    if (!values.kubeconfig) io.out(kube.kubeconfig());
    await untilStopped();
    return 0;
  } catch (e) {
    io.err(`proxscale fake-kube: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    await kube.close();
  }
}

/**
 * `proxscale fake-pve`: runs the fake Proxmox VE API (fakes/fake_pve) so anyone can point a
 * client or curl at it. Prints the URL, the leaf certificate's SHA-256 fingerprint and an API
 * token it accepts, then serves until SIGINT or SIGTERM.
 */
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { parseArgs } from "node:util";
import { type Command, stopped } from "./command.ts";
import { startFakePve } from "../fakes/fake_pve/server.ts";

/** The command with an injectable stop condition (tests cannot send signals safely). */
export function fakePveCommandWith(untilStopped: () => Promise<void>): Command {
  return {
    ...fakePveCommand,
    run(args, io) {
      return runFakePve(args, io, untilStopped);
    },
  };
}

export const fakePveCommand: Command = {
  name: "fake-pve",
  summary: COMMAND_SUMMARIES["fake-pve"],
  usage:
    "proxscale fake-pve [--hosts N] [--port P] [--hostname H] [--token-id USER@REALM!ID] [--token-secret S] [--seed N] [--stats-lag SECONDS]",
  run(args, io, stop) {
    return runFakePve(args, io, () => stopped(stop));
  },
};

async function runFakePve(
  args: string[],
  io: { out: (t: string) => void; err: (t: string) => void },
  untilStopped: () => Promise<void>,
): Promise<number> {
  const usage = fakePveCommand.usage;
  const summary = fakePveCommand.summary;
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        help: { type: "boolean", short: "h" },
        hosts: { type: "string", default: "3" },
        port: { type: "string", default: "8006" },
        hostname: { type: "string", default: "127.0.0.1" },
        "token-id": { type: "string" },
        "token-secret": { type: "string" },
        seed: { type: "string", default: "1" },
        "stats-lag": { type: "string", default: "0" },
      },
    }));
  } catch (e) {
    io.err(`${e instanceof Error ? e.message : e}\nusage: ${usage}`);
    return 2;
  }
  if (values.help) {
    io.out(`usage: ${usage}\n\n${summary}. Runs until SIGINT or SIGTERM.`);
    return 0;
  }
  const hosts = Number(values.hosts);
  const port = Number(values.port);
  const seed = Number(values.seed);
  const lag = Number(values["stats-lag"]);
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > 64) {
    return bad(io, "--hosts must be an integer from 1 to 64");
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return bad(io, "--port must be an integer from 0 to 65535");
  }
  if (!Number.isInteger(seed)) return bad(io, "--seed must be an integer");
  if (!(lag >= 0)) return bad(io, "--stats-lag must be a number of seconds >= 0");
  const tokenId = values["token-id"];
  if (
    tokenId !== undefined &&
    !/^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]+$/.test(tokenId)
  ) {
    return bad(io, "--token-id must look like user@realm!tokenid");
  }
  const pve = await startFakePve({
    hosts,
    port,
    hostname: values.hostname,
    seed,
    model: { statsLagMs: lag * 1000 },
    ...(tokenId !== undefined ? { tokenId } : {}),
    ...(values["token-secret"] !== undefined ? { tokenSecret: values["token-secret"] } : {}),
  });
  io.out(
    [
      `fake Proxmox VE 8.4 listening with ${hosts} host${hosts === 1 ? "" : "s"} (${
        [...pve.model.st.hosts.keys()].join(", ")
      })`,
      `url:          ${pve.url}`,
      `api:          ${pve.apiUrl}`,
      `fingerprint:  ${pve.fingerprint}`,
      `token:        PVEAPIToken=${pve.tokenId}=${pve.tokenSecret}`,
      `ticket login: root@pam / ${pve.password}`,
      `templates:    ${
        [...pve.model.st.vms.values()].map((v) => `${v.vmid} on ${v.node}`).join(", ")
      }`,
      `try:          curl -sk -H 'Authorization: PVEAPIToken=${pve.tokenId}=${pve.tokenSecret}' ${pve.apiUrl}/version`,
    ].join("\n"),
  );
  await untilStopped();
  await pve.close();
  io.out("fake-pve stopped");
  return 0;
}

function bad(io: { err: (t: string) => void }, msg: string): number {
  io.err(`proxscale fake-pve: ${msg}`);
  return 2;
}

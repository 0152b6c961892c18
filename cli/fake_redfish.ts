/**
 * `proxscale fake-redfish`: runs a fake Redfish BMC service (fakes/fake_redfish) with N
 * bare-metal Systems so a Redfish client, the Redfish provider or curl can be pointed at it.
 * Prints the URL, the leaf certificate's SHA-256 fingerprint, the login and each System's Id
 * and UUID, then serves until SIGINT or SIGTERM.
 */
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { parseArgs } from "node:util";
import { type Command, type Io, stopped } from "./command.ts";
import { startFakeRedfish } from "../fakes/fake_redfish/server.ts";

/** The command with an injectable stop condition (tests cannot send signals safely). */
export function fakeRedfishCommandWith(untilStopped: () => Promise<void>): Command {
  return { ...fakeRedfishCommand, run: (args, io) => runFakeRedfish(args, io, untilStopped) };
}

/** `proxscale fake-redfish`. */
export const fakeRedfishCommand: Command = {
  name: "fake-redfish",
  summary: COMMAND_SUMMARIES["fake-redfish"],
  usage:
    "proxscale fake-redfish [--systems N] [--port P] [--hostname H] [--cpus C] [--memory-gib G] [--power-delay SECONDS] [--ca-out FILE]",
  run(args, io, stop) {
    return runFakeRedfish(args, io, () => stopped(stop));
  },
};

async function runFakeRedfish(
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
        systems: { type: "string", default: "2" },
        port: { type: "string", default: "8443" },
        hostname: { type: "string", default: "127.0.0.1" },
        cpus: { type: "string", default: "16" },
        "memory-gib": { type: "string", default: "64" },
        "power-delay": { type: "string", default: "2" },
        "ca-out": { type: "string" },
      },
    }));
  } catch (e) {
    io.err(`${e instanceof Error ? e.message : e}\nusage: ${fakeRedfishCommand.usage}`);
    return 2;
  }
  if (values.help) {
    io.out(
      `usage: ${fakeRedfishCommand.usage}\n\n${fakeRedfishCommand.summary}. Runs until SIGINT or SIGTERM.`,
    );
    return 0;
  }
  const systems = Number(values.systems);
  const port = Number(values.port);
  const cpus = Number(values.cpus);
  const memoryGiB = Number(values["memory-gib"]);
  const delay = Number(values["power-delay"]);
  if (!Number.isInteger(systems) || systems < 1 || systems > 256) {
    return bad(io, "--systems must be an integer from 1 to 256");
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return bad(io, "--port must be an integer from 0 to 65535");
  }
  if (!Number.isInteger(cpus) || cpus < 1) return bad(io, "--cpus must be a positive integer");
  if (!(memoryGiB > 0)) return bad(io, "--memory-gib must be a positive number");
  if (!(delay >= 0)) return bad(io, "--power-delay must be a number of seconds >= 0");
  const bmc = await startFakeRedfish({
    systems: Array.from({ length: systems }, () => ({ cpus, memoryGiB })),
    port,
    hostname: values.hostname,
    model: { powerOnDelayMs: delay * 1000, powerOffDelayMs: delay * 500 },
  });
  if (values["ca-out"]) await Deno.writeTextFile(values["ca-out"], bmc.caPem);
  io.out([
    `fake Redfish BMC listening with ${systems} system${systems === 1 ? "" : "s"}`,
    `url:          ${bmc.url}`,
    `fingerprint:  ${bmc.fingerprint}`,
    `login:        ${bmc.username} / ${bmc.password} (Administrator); viewer / viewer (ReadOnly)`,
    ...[...bmc.model.systems.values()].map((s) =>
      `system:       ${s.id} ${s.uuid} ${s.cpus} CPUs ${s.memoryGiB} GiB`
    ),
    `try:          curl -sk -u ${bmc.username}:${bmc.password} ${bmc.url}/redfish/v1/Systems`,
  ].join("\n"));
  await untilStopped();
  await bmc.close();
  io.out("fake-redfish stopped");
  return 0;
}

function bad(io: Io, msg: string): number {
  io.err(`proxscale fake-redfish: ${msg}`);
  return 2;
}

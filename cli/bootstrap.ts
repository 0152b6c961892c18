/**
 * `proxscale bootstrap preview --config FILE [--pool NAME] [--iso OUT]`: shows exactly what a
 * new node of a NodePool would receive (user-data, meta-data, network-config), with every
 * secret redacted, and optionally writes the seed ISO, so an operator can debug a template
 * before any VM exists. Nothing is contacted: the cluster CA and operator values come from
 * files when given, otherwise from clearly marked placeholders.
 */
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { parseArgs } from "node:util";
import { LineCounter, parseDocument, stringify } from "yaml";
import { positionInScalar } from "../adapters/config/scalar_position.ts";
import type { Command, Io } from "./command.ts";
import { formatProblem, loadConfigFile } from "../adapters/config/load.ts";
import { err, ok, type Result } from "../core/result.ts";
import type { Config, MachineTemplate, NodePool, Provider } from "../core/model.ts";
import {
  bootstrapSecretManifest,
  bootstrapTokenTtl,
  generateBootstrapToken,
  type RandomBytes,
  rfc3339,
} from "../core/bootstrap_token.ts";
import { caCertHash, k3sCaHash } from "../adapters/bootstrap/ca_hash.ts";
import {
  DEFAULT_CDROM_SLOT,
  isoVolid,
  locallyAdministeredMac,
} from "../adapters/bootstrap/identity.ts";
import { providerIdFor } from "../core/lifecycle_nodes.ts";
import {
  buildSeedIso,
  type ClaimIdentity,
  type ClusterInfo,
  redact,
  renderNoCloudSeed,
  type SeedError,
  type SeedInput,
  seedSecrets,
  userDataTemplate,
} from "../adapters/bootstrap/render.ts";
import {
  parseTemplate,
  type TemplateError,
  variablesUsed,
} from "../adapters/bootstrap/template.ts";
import { authExtraGroupFor } from "../adapters/bootstrap/prepare.ts";

const USAGE =
  "proxscale bootstrap preview --config FILE [--pool NAME] [--iso OUT] [--ca PEM] [--values FILE]";

const HELP = `usage: ${USAGE}

Renders what a new node of NodePool NAME (default: the first pool) would receive through
the NoCloud datasource, for a sample NodeClaim on the pool's first host and lowest VMID.
The join token and operator values are shown as <redacted:...>.

  --config FILE   proxscale configuration (YAML)
  --pool NAME     NodePool to preview
  --iso OUT       also write the seed ISO (label cidata) to OUT; it holds a sample token
                  that no cluster knows
  --ca PEM        cluster CA certificate, for the CA pins (default: bootstrap.caCertHashFrom)
  --values FILE   YAML map standing in for the operator Secret (bootstrap.secretRef)

Exit codes: 0 rendered, 2 bad input (unknown pool, invalid config or template).`;

/** What the command reads from the outside world, replaceable in tests. */
export type BootstrapDeps = {
  random: RandomBytes;
  now: () => number;
};

const defaultDeps: BootstrapDeps = {
  random: (n) => crypto.getRandomValues(new Uint8Array(n)),
  now: () => Date.now(),
};

/** Builds the command with its sources of randomness and time. */
export function makeBootstrapCommand(deps: BootstrapDeps = defaultDeps): Command {
  return {
    name: "bootstrap",
    summary: COMMAND_SUMMARIES.bootstrap,
    usage: USAGE,
    run: (args, io) => run(args, io, deps),
  };
}

/** `proxscale bootstrap`, wired to the real clock and CSPRNG. */
export const bootstrapCommand: Command = makeBootstrapCommand();

async function run(args: string[], io: Io, deps: BootstrapDeps): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        pool: { type: "string", short: "p" },
        iso: { type: "string" },
        ca: { type: "string" },
        values: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    io.err(`${(e as Error).message}\nusage: ${USAGE}`);
    return 2;
  }
  const { values: opts, positionals } = parsed;
  if (opts.help) {
    io.out(HELP);
    return 0;
  }
  if (positionals[0] !== "preview" || positionals.length > 1 || !opts.config) {
    io.err(`usage: ${USAGE}`);
    return 2;
  }
  const configFile = opts.config;
  const loaded = await loadConfigFile(configFile);
  if (!loaded.ok) {
    for (const p of loaded.error) io.err(formatProblem(p));
    return 2;
  }
  const config = loaded.value;
  const pool = opts.pool === undefined
    ? config.nodePools[0]
    : config.nodePools.find((p) => p.name === opts.pool);
  if (!pool) {
    io.err(
      `${configFile}: unknown NodePool "${opts.pool}" (known: ${
        config.nodePools.map((p) => p.name).join(", ")
      })`,
    );
    return 2;
  }
  const template = config.machineTemplates.find((t) => t.name === pool.machineTemplate);
  const provider = config.providers.find((p) => p.name === template?.provider);
  const host = provider?.hosts[0];
  if (!template || !provider || !host) {
    io.err(`${configFile}: NodePool "${pool.name}" has no MachineTemplate, Provider or host`);
    return 2;
  }

  const notes: string[] = [];
  const cluster = await clusterInfo(template, opts.ca, notes);
  if (!cluster.ok) {
    io.err(cluster.error);
    return 2;
  }
  const values = await operatorValues(template, opts.values, notes);
  if (!values.ok) {
    io.err(values.error);
    return 2;
  }
  const claim = sampleClaim(pool, template, provider, host.name, host.zone);
  const now = deps.now();
  const input: SeedInput = {
    template,
    pool,
    claim,
    cluster: cluster.value,
    join: {
      token: generateBootstrapToken(deps.random),
      expiresAt: now + bootstrapTokenTtl(config.settings.registrationTimeout),
    },
    values: values.value,
  };
  const mode = template.bootstrap.mode;
  const header = [
    `# NodePool ${pool.name}, MachineTemplate ${template.name}, bootstrap mode ${mode}`,
    `# sample NodeClaim ${claim.name}: vmid ${claim.vmid}, host ${claim.host} (zone ${claim.zone}), providerID ${
      providerIdFor(claim.provider, claim.vmid)
    }`,
    `# MACs: ${Object.entries(claim.macs).map(([s, m]) => `${s}=${m}`).join(", ") || "none"}`,
  ];
  if (mode !== "nocloudIso") {
    if (opts.iso !== undefined) {
      io.err(`bootstrap mode ${mode} delivers no seed ISO; --iso applies to nocloudIso only`);
      return 2;
    }
    io.out([...header, ...otherModeSummary(template, claim)].join("\n"));
    return 0;
  }
  const seed = renderNoCloudSeed(input);
  if (!seed.ok) {
    for (const line of await seedErrorLines(seed.error, configFile, config, template)) {
      io.err(line);
    }
    return 2;
  }
  const secrets = seedSecrets(input);
  const volid = isoVolid(template.bootstrap.isoStorage ?? "<isoStorage>", claim.name);
  header.push(
    `# join token: <redacted:join-token>, expires ${
      rfc3339(input.join.expiresAt)
    } (registration timeout + 15m)`,
    `# seed ISO: ${volid} on ${DEFAULT_CDROM_SLOT} (default slot)`,
    ...notes.map((n) => `# note: ${n}`),
  );
  const show = (name: string, text: string) =>
    `--- ${name} (${new TextEncoder().encode(text).length} bytes)\n${
      redact(text, secrets).replace(/\n?$/, "\n")
    }`;
  io.out(
    [
      header.join("\n"),
      show("user-data", seed.value.userData),
      show("meta-data", seed.value.metaData),
      show("network-config", seed.value.networkConfig),
      `--- token Secret proxscale creates before the VM starts and deletes at registration\n${
        redact(
          stringify(
            bootstrapSecretManifest(input.join.token, now, input.join.expiresAt - now, {
              group: authExtraGroupFor(template),
              nodeClaim: claim.name,
            }),
          ),
          secrets,
        )
      }`,
    ].join("\n"),
  );
  if (opts.iso !== undefined) {
    const iso = buildSeedIso(seed.value, now);
    try {
      await Deno.writeFile(opts.iso, iso);
    } catch (e) {
      io.err(`cannot write ${opts.iso}: ${(e as Error).message}`);
      return 2;
    }
    io.out(
      `wrote ${opts.iso} (${iso.length} bytes, label cidata); its token was never registered`,
    );
  }
  return 0;
}

/** A NodeClaim as the daemon would fix it: first host, lowest VMID, MACs from the VMID. */
function sampleClaim(
  pool: NodePool,
  template: MachineTemplate,
  provider: Provider,
  host: string,
  zone: string,
): ClaimIdentity {
  const vmid = provider.vmidRange.lower;
  const macs: Record<string, string> = {};
  for (const n of template.network) {
    macs[n.slot] = locallyAdministeredMac(vmid, Number(n.slot.slice(3)));
  }
  return { name: `${pool.name}-preview`, vmid, provider: provider.name, host, zone, macs };
}

async function clusterInfo(
  template: MachineTemplate,
  caFile: string | undefined,
  notes: string[],
): Promise<Result<ClusterInfo, string>> {
  const b = template.bootstrap;
  const server = b.clusterServer ?? "unset-cluster-server:6443";
  if (b.clusterServer === undefined) {
    notes.push(`bootstrap.clusterServer is not set; shown as ${server}`);
  }
  const file = caFile ?? b.caCertHashFrom;
  if (file === undefined) {
    notes.push(
      "no cluster CA given (--ca or bootstrap.caCertHashFrom); CA values are placeholders",
    );
    return ok({ server, caPEM: "<cluster-ca.crt>", caCertHash: "sha256:<cluster-ca-spki-hash>" });
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (e) {
    return err(`cannot read cluster CA ${file}: ${(e as Error).message}`);
  }
  const pem = new TextDecoder().decode(bytes);
  const hash = caCertHash(pem);
  if (!hash.ok) return err(`${file}: ${hash.error.message}`);
  const k3s = k3sCaHash(bytes);
  return ok({
    server,
    caPEM: pem,
    caCertHash: hash.value,
    ...(k3s.ok ? { k3sCaHash: k3s.value } : {}),
  });
}

/** Operator values from --values, else a placeholder for each key the template uses. */
async function operatorValues(
  template: MachineTemplate,
  file: string | undefined,
  notes: string[],
): Promise<Result<Record<string, string>, string>> {
  if (file !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      return err(`cannot read values ${file}: ${(e as Error).message}`);
    }
    const doc = parseDocument(text);
    const data = doc.errors.length === 0 ? doc.toJS() : undefined;
    if (typeof data !== "object" || data === null || Array.isArray(data)) {
      return err(`${file}: must be a YAML map of key: value`);
    }
    return ok(Object.fromEntries(Object.entries(data).map(([k, v]) => [k, String(v)])));
  }
  const source = userDataTemplate(template);
  const parsed = source.ok ? parseTemplate(source.value.text) : undefined;
  const keys = parsed?.ok
    ? variablesUsed(parsed.value).filter((v) => v.startsWith("values.")).map((v) => v.slice(7))
    : [];
  if (keys.length === 0) return ok({});
  const ref = template.bootstrap.secretRef;
  notes.push(
    `operator values (${keys.join(", ")}) come from Secret ${
      ref ? `${ref.namespace}/${ref.name}` : "<bootstrap.secretRef unset>"
    } at runtime; pass --values FILE to preview real ones`,
  );
  return ok(Object.fromEntries(keys.map((k) => [k, `<values.${k}>`])));
}

/** What the other modes set, since they deliver no seed of proxscale's own. */
function otherModeSummary(template: MachineTemplate, claim: ClaimIdentity): string[] {
  const b = template.bootstrap;
  if (b.mode === "none") {
    return [
      "# mode none: proxscale delivers no bootstrap data; the image joins by itself.",
      `# identity only: VM name ${claim.name}, MACs above, tags ${template.tags.join(", ") || "-"}`,
      "# after registration proxscale sets providerID if empty, labels and taints, and removes proxscale.io/unregistered.",
    ];
  }
  const lines = [
    "# mode pveCloudInit: Proxmox's own cloud-init drive with these VM options",
    `name: ${claim.name}`,
    ...template.network.map((n, i) => `ipconfig${i}: ${n.ipconfig ?? "ip=dhcp"}`),
  ];
  if (b.sshKeys?.length) lines.push(`sshkeys: (${b.sshKeys.length} key(s))`);
  if (b.nameserver) lines.push(`nameserver: ${b.nameserver}`);
  if (b.searchdomain) lines.push(`searchdomain: ${b.searchdomain}`);
  if (b.ciuser) lines.push(`ciuser: ${b.ciuser}`);
  lines.push(`cicustom: ${b.cicustom ?? "(none)"}`);
  lines.push("# secrets in cicustom snippets are the operator's, shared and long-lived.");
  return lines;
}

/** Error lines as `file:line:col: message`, pointing into the config for inline templates. */
async function seedErrorLines(
  e: SeedError,
  configFile: string,
  config: Config,
  template: MachineTemplate,
): Promise<string[]> {
  if (e.kind !== "TemplateInvalid") return [`${configFile}: ${e.message}`];
  const index = config.machineTemplates.indexOf(template);
  const inline = template.bootstrap.userData !== undefined;
  const text = inline ? await Deno.readTextFile(configFile).catch(() => "") : "";
  const field = `machineTemplates[${index}].spec.bootstrap.userData`;
  return e.errors.map((te) => {
    if (!inline) return `${e.source}:${te.line}:${te.col}: ${te.message}`;
    const at = userDataPosition(text, index, te);
    return at
      ? `${configFile}:${at.line}:${at.col}: ${field}: ${te.message}`
      : `${configFile}: ${field}: line ${te.line}, column ${te.col}: ${te.message}`;
  });
}

/** Maps a template position inside an inline `userData` scalar to the config file. */
export function userDataPosition(
  configText: string,
  templateIndex: number,
  te: Pick<TemplateError, "line" | "col">,
): { line: number; col: number } | undefined {
  const lc = new LineCounter();
  const doc = parseDocument(configText, { lineCounter: lc });
  const path = ["machineTemplates", templateIndex, "spec", "bootstrap", "userData"];
  return positionInScalar(doc, lc, configText, path, te);
}

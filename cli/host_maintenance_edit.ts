/**
 * Where `proxscale host cordon|uncordon|drain` writes a host's maintenance: in a config file,
 * the host's `maintenance` field (comments and layout kept; the daemon hot-reloads the file);
 * in the cluster, the Provider annotation `host-maintenance.proxscale.io/HOST` (what
 * `kubectl annotate` would set). Each returns a sentence saying what it changed.
 *
 * May import: core/, adapters/, cli/.
 */
import { isMap, isSeq, parseDocument, type YAMLMap } from "yaml";
import type { HostMaintenance } from "../core/model.ts";
import { err, ok, type Result } from "../core/result.ts";
import type { KubeClient } from "../adapters/kubernetes/client.ts";
import { hostMaintenanceKey } from "../adapters/config/host_maintenance_annotation.ts";

/** Providers in the cluster (cluster-scoped custom resources). */
export const PROVIDERS_PATH = "/apis/proxscale.io/v1alpha1/providers";

/** A configured host found by name: its provider. */
type Found<T> = { provider: string; node: T };

function pick<T>(
  found: Found<T>[],
  host: string,
  provider: string | undefined,
): Result<Found<T>, string> {
  const matching = found.filter((f) => provider === undefined || f.provider === provider);
  if (matching.length === 0) {
    return err(
      `no host ${host} in ${provider === undefined ? "any Provider" : `Provider ${provider}`}`,
    );
  }
  if (matching.length > 1) {
    return err(
      `host ${host} is in several Providers (${
        matching.map((f) => f.provider).join(", ")
      }): say which with --provider`,
    );
  }
  return ok(matching[0]!);
}

/**
 * The refusal when `host` (or the Provider named) is bare metal: host maintenance cordons and
 * drains a Proxmox node's VMs, while a Redfish machine is itself one Kubernetes node.
 */
function bareMetalRefusal(
  redfish: { provider: string; machines: string[] }[],
  host: string,
  provider: string | undefined,
): string | undefined {
  const hit = redfish.find((r) =>
    provider !== undefined ? r.provider === provider : r.machines.includes(host)
  );
  if (!hit) return undefined;
  return `Provider ${hit.provider} is kind redfish (bare metal): host maintenance is for ` +
    `Proxmox hosts; a machine${
      hit.machines.includes(host) ? ` such as ${host}` : ""
    } is one node, so cordon or drain its node with kubectl, or delete its NodeClaim to replace it`;
}

/** Sets (or with `undefined` clears) a host's `maintenance` field in a config file's text. */
export function setHostInConfigText(
  text: string,
  host: string,
  provider: string | undefined,
  state: HostMaintenance | undefined,
): Result<{ text: string; provider: string }, string> {
  const doc = parseDocument(text);
  if (doc.errors.length) return err(`not valid YAML: ${doc.errors[0]!.message}`);
  const providers = doc.get("providers");
  const found: Found<YAMLMap>[] = [];
  const redfish: { provider: string; machines: string[] }[] = [];
  if (isSeq(providers)) {
    for (const p of providers.items) {
      if (!isMap(p)) continue;
      if (p.getIn(["spec", "kind"]) === "redfish") {
        const machines = p.getIn(["spec", "machines"]);
        redfish.push({
          provider: String(p.get("name")),
          machines: isSeq(machines)
            ? machines.items.flatMap((m) => isMap(m) ? [String(m.get("name"))] : [])
            : [],
        });
        continue;
      }
      const hosts = p.getIn(["spec", "hosts"]);
      if (!isSeq(hosts)) continue;
      for (const h of hosts.items) {
        if (isMap(h) && h.get("name") === host) {
          found.push({ provider: String(p.get("name")), node: h as YAMLMap });
        }
      }
    }
  }
  const f = pick(found, host, provider);
  if (!f.ok) return err(bareMetalRefusal(redfish, host, provider) ?? f.error);
  if (state === undefined) f.value.node.delete("maintenance");
  else f.value.node.set("maintenance", state);
  return ok({ text: doc.toString(), provider: f.value.provider });
}

/** Edits the config file in place; says what it changed. */
export async function setHostInConfigFile(
  path: string,
  host: string,
  provider: string | undefined,
  state: HostMaintenance | undefined,
): Promise<Result<string, string>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    return err(`${path}: ${(e as Error).message}`);
  }
  const r = setHostInConfigText(text, host, provider, state);
  if (!r.ok) return err(`${path}: ${r.error}`);
  await Deno.writeTextFile(path, r.value.text);
  const field = `Provider ${r.value.provider} host ${host}: maintenance`;
  return ok(
    state === undefined
      ? `${path}: ${field} removed (the daemon reloads the file)`
      : `${path}: ${field} set to ${state} (the daemon reloads the file)`,
  );
}

type ProviderObj = {
  metadata?: { name?: string };
  spec?: { kind?: string; hosts?: { name?: string }[]; machines?: { name?: string }[] };
};

/** Sets (or clears) the Provider annotation for `host`; says what it changed. */
export async function setHostOnProvider(
  kube: KubeClient,
  host: string,
  provider: string | undefined,
  state: HostMaintenance | undefined,
): Promise<Result<string, string>> {
  const list = await kube.requestJson("GET", PROVIDERS_PATH);
  if (!list.ok) return err(`list Providers: ${list.error.message}`);
  const items = (list.value.body as { items?: ProviderObj[] }).items ?? [];
  const found: Found<ProviderObj>[] = [];
  const redfish: { provider: string; machines: string[] }[] = [];
  for (const p of items) {
    if (p.spec?.kind === "redfish") {
      redfish.push({
        provider: p.metadata?.name ?? "",
        machines: (p.spec.machines ?? []).flatMap((m) => m.name === undefined ? [] : [m.name]),
      });
    } else if ((p.spec?.hosts ?? []).some((h) => h.name === host)) {
      found.push({ provider: p.metadata?.name ?? "", node: p });
    }
  }
  const f = pick(found, host, provider);
  if (!f.ok) return err(bareMetalRefusal(redfish, host, provider) ?? f.error);
  const key = hostMaintenanceKey(host);
  const r = await kube.requestJson("PATCH", `${PROVIDERS_PATH}/${f.value.provider}`, {
    body: { metadata: { annotations: { [key]: state ?? null } } },
    contentType: "application/merge-patch+json",
  });
  if (!r.ok) return err(`Provider ${f.value.provider}: ${r.error.message}`);
  return ok(
    state === undefined
      ? `Provider ${f.value.provider}: annotation ${key} removed`
      : `Provider ${f.value.provider}: annotation ${key}=${state} set`,
  );
}

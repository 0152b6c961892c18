/**
 * Node bootstrap in the daemon (one short-lived join token per NodeClaim, on a seed ISO): for a
 * `nocloudIso` launch, mint the claim's join token, record its id on the NodeClaim, create its
 * bootstrap-token Secret in kube-system, and hand the provider a seed ISO to upload to the VM's
 * host and attach before the first start. Once the node registered, or the launch or the claim
 * failed, the ISO is detached and deleted and the Secret deleted by name (proxscale needs only
 * create, get and delete on Secrets, never list). Every minted id is also kept in a ledger
 * ConfigMap in proxscale's namespace until its Secret is gone, so the sweep of expired Secrets (a
 * backstop for crashes and for claims removed without their finalizer) finds them by name: the ids
 * recorded on NodeClaims plus the ledger's, each checked against the Secret's own expiration
 * (daemon/bootstrap_sweep.ts). kubeadm clusters also run the token cleaner, which deletes
 * expired token Secrets by itself.
 *
 * The token never leaves this file except inside the Secret and the ISO bytes: reports carry
 * only the token id, which is public (it names the Secret).
 *
 * May import: core/, adapters/, daemon/.
 */
import { BOOTSTRAP_TOKEN_NAMESPACE, bootstrapTokenSecretName } from "../core/bootstrap_token.ts";
import type { MachineTemplate, NodeClaim } from "../core/model.ts";
import { type Reason, reason } from "../core/reason.ts";
import { err, ok, type Result } from "../core/result.ts";
import { caCertHash, k3sCaHash } from "../adapters/bootstrap/ca_hash.ts";
import { DEFAULT_CDROM_SLOT, isoVolumeName } from "../adapters/bootstrap/identity.ts";
import { authExtraGroupFor, prepareNodeBootstrap } from "../adapters/bootstrap/prepare.ts";
import type { ClusterInfo } from "../adapters/bootstrap/render.ts";
import { deleteBootstrapTokenSecret } from "../adapters/kubernetes/bootstrap_secrets.ts";
import {
  describeKubeError,
  isAlreadyExists,
  isNotFound,
  PatchType,
} from "../adapters/kubernetes/client.ts";
import { nodeClaimFromKube } from "../adapters/kubernetes/translate.ts";
import { nodeClaimSubject } from "../adapters/kubernetes/events.ts";
import {
  forgetMintedTokens,
  recordMintedToken,
} from "../adapters/kubernetes/bootstrap_token_ledger.ts";
import { DEFAULT_NAMESPACE } from "../adapters/config/crd_manifests.ts";
import type { CreateOptions, SeedIsoRef, SeedTarget } from "./ports/provider.ts";
import type { DaemonContext } from "./context.ts";

/** NodeClaim annotation holding the id (public half) of the claim's current join token. */
export const TOKEN_ID_ANNOTATION = "proxscale.io/bootstrap-token-id";
/** Where a pod finds its cluster's CA when bootstrap.caCertHashFrom is not set. */
const SERVICE_ACCOUNT_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
/** The iso storage used when the MachineTemplate names none (PVE's default `local`). */
const DEFAULT_ISO_STORAGE = "local";

/** Namespace of the token ledger: proxscale's own. */
export const ledgerNamespace = (ctx: DaemonContext): string =>
  ctx.bootstrap?.namespace ?? DEFAULT_NAMESPACE;

const claimPath = (name: string) =>
  `/apis/proxscale.io/v1alpha1/nodeclaims/${encodeURIComponent(name)}`;

/**
 * Why bootstrap could not be prepared: its Reason (BootstrapFailed for the configuration,
 * KubernetesError for an API read) and `permanent` when a retry cannot help (configuration).
 */
export type BootstrapProblem = { reason: Reason; permanent: boolean };

/** A problem of the configuration: no retry heals it. */
const misconfigured = (message: string): BootstrapProblem => ({
  reason: reason("BootstrapFailed", message),
  permanent: true,
});

/** Where a template's seed ISO lives (for release), or undefined for modes without one. */
export function seedIsoRef(template: MachineTemplate, claim: string): SeedIsoRef | undefined {
  if (template.bootstrap.mode !== "nocloudIso") return undefined;
  return {
    storage: template.bootstrap.isoStorage ?? DEFAULT_ISO_STORAGE,
    slot: DEFAULT_CDROM_SLOT,
    name: isoVolumeName(claim),
  };
}

/**
 * The create options for the claim's bootstrap mode. `nocloudIso` gets a seed ISO whose
 * `build` mints the token, records its id, creates the Secret and renders the seed once the
 * VM's host, VMID and MACs are known; the other modes need nothing here (`pveCloudInit`
 * snippets are checked on the host by the provider before create).
 */
export async function bootstrapCreateOptions(
  ctx: DaemonContext,
  claim: NodeClaim,
  template: MachineTemplate,
): Promise<Result<CreateOptions, BootstrapProblem>> {
  const iso = seedIsoRef(template, claim.name);
  if (!iso) return ok({});
  const config = ctx.config();
  const pool = config.nodePools.find((p) => p.name === claim.nodePool);
  const provider = config.providers.find((p) => p.name === claim.provider);
  if (!pool || !provider) {
    return err(misconfigured(`NodeClaim ${claim.name} names an unknown NodePool`));
  }
  const cluster = await clusterInfo(ctx, template);
  if (!cluster.ok) return cluster;
  const values = await operatorValues(ctx, template);
  if (!values.ok) return values;
  const build = async (target: SeedTarget): Promise<Result<Uint8Array, string>> => {
    const now = ctx.clock.now();
    const zone = provider.hosts.find((h) => h.name === target.host)?.zone ?? target.host;
    const prepared = prepareNodeBootstrap({
      template,
      pool,
      claim: {
        name: claim.name,
        vmid: target.vmid,
        provider: claim.provider,
        host: target.host,
        zone,
        macs: target.macs,
        ...(target.providerID !== undefined ? { providerID: target.providerID } : {}),
        shape: claim.shape,
      },
      cluster: cluster.value,
      ...(values.value ? { values: values.value } : {}),
      now,
      registrationTimeoutMs: config.settings.registrationTimeout,
      random: ctx.bootstrap?.random ?? ((n) => crypto.getRandomValues(new Uint8Array(n))),
    });
    if (!prepared.ok) return err(seedErrorText(prepared.error));
    const { token, secret } = prepared.value;
    // Record the id first: whatever happens next, the Secret can be found and deleted by name.
    const ledger = await recordMintedToken(
      ctx.kube,
      ledgerNamespace(ctx),
      token.id,
      secret.stringData.expiration,
    );
    if (!ledger.ok) return err(`recording the join token id: ${describeKubeError(ledger.error)}`);
    const previous = await readTokenId(ctx, claim.name);
    if (!previous.ok) return previous;
    if (previous.value !== undefined && previous.value !== token.id) {
      const d = await deleteBootstrapTokenSecret(ctx.kube, previous.value);
      if (!d.ok) return err(`old join token Secret: ${describeKubeError(d.error)}`);
      await forgetMintedTokens(ctx.kube, ledgerNamespace(ctx), [previous.value]);
    }
    const a = await ctx.kube.requestJson("PATCH", claimPath(claim.name), {
      body: { metadata: { annotations: { [TOKEN_ID_ANNOTATION]: token.id } } },
      contentType: PatchType.MergePatch,
    });
    if (!a.ok) return err(`recording the join token id: ${describeKubeError(a.error)}`);
    const c = await ctx.kube.requestJson(
      "POST",
      `/api/v1/namespaces/${BOOTSTRAP_TOKEN_NAMESPACE}/secrets`,
      { body: secret },
    );
    if (!c.ok && !isAlreadyExists(c.error)) {
      return err(`creating the join token Secret: ${describeKubeError(c.error)}`);
    }
    const preparedWhy = reason(
      "BootstrapPrepared",
      `join token Secret ${bootstrapTokenSecretName(token.id)} (group ${
        authExtraGroupFor(template)
      }) expires at ${secret.stringData.expiration}; seed ISO ${iso.name} on ${iso.storage}`,
    );
    await claimEvent(ctx, claim.name, preparedWhy);
    ctx.report({
      time: now,
      what: "BootstrapPrepared",
      nodeclaim: claim.name,
      vmid: target.vmid,
      host: target.host,
      reason: preparedWhy,
    });
    return ok(prepared.value.iso);
  };
  return ok({ seedIso: { ...iso, build } });
}

/**
 * After registration, a failed launch or the claim's end: detach and delete the seed ISO,
 * then delete the join token Secret by the id recorded on the claim. Repeatable. The Secret is
 * deleted even when the ISO cannot be (PVE down, Datastore.Allocate missing); `isoRequired`
 * false reports that ISO failure instead of failing, so a claim's finalization never waits
 * on it (the claim's token is the secret that matters; the ISO's token is then dead).
 */
export async function releaseBootstrap(
  ctx: DaemonContext,
  claimName: string,
  providerName: string,
  template: MachineTemplate | undefined,
  why: string,
  isoRequired = true,
): Promise<Result<void, Reason>> {
  const iso = template ? seedIsoRef(template, claimName) : undefined;
  let isoNote = "";
  let isoError: string | undefined;
  if (iso) {
    const p = ctx.providers.get(providerName);
    const r = p?.releaseSeedIso ? await p.releaseSeedIso(claimName, iso) : undefined;
    if (r && !r.ok) isoError = `releasing seed ISO ${iso.name}: ${r.error.message}`;
    else if (r?.value.detached || r?.value.deleted.length) {
      isoNote = `seed ISO ${iso.name}${r.value.detached ? " detached" : ""}${
        r.value.deleted.length ? ` and deleted on ${r.value.deleted.join(", ")}` : ""
      }`;
    }
  }
  // Each failure is reported here, where it happens, so a caller that goes on (a failed
  // launch releasing its attempt) need not report it again.
  const failedRelease = (failure: Reason) => {
    ctx.report({
      time: ctx.clock.now(),
      what: "BootstrapReleaseFailed",
      nodeclaim: claimName,
      outcome: "failed",
      reason: failure,
    });
    return err(failure);
  };
  const id = await readTokenId(ctx, claimName);
  if (!id.ok) return failedRelease(reason("KubernetesError", `${why}: ${id.error}`));
  let tokenNote = "";
  if (id.value !== undefined) {
    const d = await deleteBootstrapTokenSecret(ctx.kube, id.value);
    if (!d.ok) {
      return failedRelease(reason(
        "KubernetesError",
        `${why}: deleting the join token Secret: ${describeKubeError(d.error)}`,
      ));
    }
    // A ledger entry left behind is harmless: the expiry sweep drops ids whose Secret is gone.
    await forgetMintedTokens(ctx.kube, ledgerNamespace(ctx), [id.value]);
    if (d.value.existed) {
      tokenNote = `join token Secret ${bootstrapTokenSecretName(id.value)} deleted`;
    }
  }
  if (isoError !== undefined) {
    const failed = reason("BootstrapFailed", `${why}: ${isoError}`);
    await claimEvent(ctx, claimName, failed);
    const reported = failedRelease(failed);
    if (isoRequired) return reported;
  }
  if (isoNote || tokenNote) {
    const released = reason(
      "BootstrapReleased",
      `${why}: ${[isoNote, tokenNote].filter(Boolean).join("; ")}`,
    );
    await claimEvent(ctx, claimName, released);
    ctx.report({
      time: ctx.clock.now(),
      what: "BootstrapReleased",
      nodeclaim: claimName,
      reason: released,
    });
  }
  return ok(undefined);
}

/**
 * `releaseBootstrap` for a claim known by name only (the disruption path ends claims without
 * the finalize job): reads its MachineTemplate and Provider from the claim. A claim already
 * gone has nothing left to release here (the expiry sweep covers its token).
 */
export async function releaseClaimBootstrap(
  ctx: DaemonContext,
  claimName: string,
  why: string,
  isoRequired: boolean,
): Promise<Result<void, Reason>> {
  const r = await ctx.kube.requestJson("GET", claimPath(claimName));
  if (!r.ok) {
    return isNotFound(r.error)
      ? ok(undefined)
      : err(reason("KubernetesError", describeKubeError(r.error)));
  }
  const claim = nodeClaimFromKube(r.value.body);
  if (!claim.ok) {
    return err(
      reason("KubernetesError", `NodeClaim ${claimName} cannot be read: ${String(claim.error)}`),
    );
  }
  const template = ctx.config().machineTemplates.find((t) =>
    t.name === claim.value.machineTemplate
  );
  return await releaseBootstrap(ctx, claimName, claim.value.provider, template, why, isoRequired);
}

/** An Event on the NodeClaim; failing to record it never blocks bootstrap. */
async function claimEvent(ctx: DaemonContext, claim: string, why: Reason): Promise<void> {
  await ctx.events?.record(nodeClaimSubject(claim), why);
}

async function readTokenId(
  ctx: DaemonContext,
  claimName: string,
): Promise<Result<string | undefined, string>> {
  const r = await ctx.kube.requestJson("GET", claimPath(claimName));
  if (!r.ok) return isNotFound(r.error) ? ok(undefined) : err(describeKubeError(r.error));
  const meta = (r.value.body as { metadata?: { annotations?: Record<string, string> } })
    ?.metadata;
  return ok(meta?.annotations?.[TOKEN_ID_ANNOTATION]);
}

/** The cluster facts the seed needs: server from the template, CA pins from the CA file. */
async function clusterInfo(
  ctx: DaemonContext,
  template: MachineTemplate,
): Promise<Result<ClusterInfo, BootstrapProblem>> {
  const b = template.bootstrap;
  if (b.clusterServer === undefined) {
    return err(
      misconfigured(`MachineTemplate ${template.name}: bootstrap.clusterServer is not set`),
    );
  }
  let pem = b.caCertHashFrom === undefined ? ctx.bootstrap?.caPem : undefined;
  if (pem === undefined) {
    const file = b.caCertHashFrom ?? SERVICE_ACCOUNT_CA;
    try {
      pem = await Deno.readTextFile(file);
    } catch (e) {
      return err(misconfigured(
        `MachineTemplate ${template.name}: cluster CA ${file} cannot be read (${
          (e as Error).name
        }); set bootstrap.caCertHashFrom`,
      ));
    }
  }
  const hash = caCertHash(pem);
  if (!hash.ok) return err(misconfigured(hash.error.message));
  const k3s = k3sCaHash(new TextEncoder().encode(pem));
  return ok({
    server: b.clusterServer,
    caPEM: pem,
    caCertHash: hash.value,
    ...(k3s.ok ? { k3sCaHash: k3s.value } : {}),
  });
}

/** The operator Secret's keys (bootstrap.secretRef), decoded; none when unset. */
async function operatorValues(
  ctx: DaemonContext,
  template: MachineTemplate,
): Promise<Result<Record<string, string> | undefined, BootstrapProblem>> {
  const ref = template.bootstrap.secretRef;
  if (!ref) return ok(undefined);
  const r = await ctx.kube.requestJson(
    "GET",
    `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/secrets/${
      encodeURIComponent(ref.name)
    }`,
  );
  if (!r.ok) {
    return err({
      reason: reason(
        "KubernetesError",
        `operator Secret ${ref.namespace}/${ref.name}: ${describeKubeError(r.error)}`,
      ),
      permanent: false,
    });
  }
  const data = (r.value.body as { data?: Record<string, string> })?.data ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    const bin = atob(v);
    out[k] = new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0)));
  }
  return ok(out);
}

function seedErrorText(e: { kind: string; message?: string; source?: string; errors?: unknown[] }) {
  if (e.kind === "TemplateInvalid" && e.errors) {
    const errs = e.errors as { line: number; col: number; message: string }[];
    return `${e.source}: ${errs.map((x) => `${x.line}:${x.col} ${x.message}`).join("; ")}`;
  }
  return e.message ?? e.kind;
}

/**
 * The sweep of proxscale's expired join token Secrets, a backstop for a crash between minting
 * and releasing a token, for claims removed without their finalizer and for clusters without
 * the token cleaner: the ids recorded on NodeClaims and in the ledger (daemon/bootstrap.ts) are
 * each read by name, never listed, and deleted once their own expiration passed.
 *
 * May import: core/, adapters/, daemon/.
 */
import { reason } from "../core/reason.ts";
import { err, ok, type Result } from "../core/result.ts";
import { deleteExpiredBootstrapTokenSecrets } from "../adapters/kubernetes/bootstrap_secrets.ts";
import { describeKubeError, isNotFound } from "../adapters/kubernetes/client.ts";
import {
  forgetMintedTokens,
  readMintedTokens,
} from "../adapters/kubernetes/bootstrap_token_ledger.ts";
import type { DaemonContext } from "./context.ts";
import { ledgerNamespace, TOKEN_ID_ANNOTATION } from "./bootstrap.ts";

const lastSweep = new WeakMap<DaemonContext, number>();

/**
 * Deletes proxscale's expired join token Secrets, at most once per `everyMs`: the ids recorded on
 * NodeClaims and in the ledger, each read by name and deleted once its own expiration passed
 * (a backstop for a crash between minting and releasing, for claims removed without their
 * finalizer, and for clusters without the token cleaner). Ids whose Secret is gone leave the
 * ledger.
 */
export async function sweepExpiredBootstrapTokens(
  ctx: DaemonContext,
  everyMs = 60_000,
): Promise<void> {
  const now = ctx.clock.now();
  const last = lastSweep.get(ctx);
  if (last !== undefined && now - last < everyMs) return;
  lastSweep.set(ctx, now);
  const ns = ledgerNamespace(ctx);
  // A sweep that cannot read or delete is told (the next one, `everyMs` later, tries again).
  const failed = (step: string, message: string) =>
    ctx.report({
      time: now,
      what: "BootstrapSweepFailed",
      outcome: "failed",
      reason: reason("KubernetesError", `sweeping expired join tokens: ${step}: ${message}`),
    });
  const ledger = await readMintedTokens(ctx.kube, ns);
  if (!ledger.ok) return failed("reading the ledger", describeKubeError(ledger.error));
  const claimed = await claimTokenIds(ctx);
  if (!claimed.ok) return failed("listing NodeClaims", claimed.error);
  const r = await deleteExpiredBootstrapTokenSecrets(ctx.kube, now, [
    ...ledger.value,
    ...claimed.value,
  ]);
  if (!r.ok) return failed("deleting Secrets", describeKubeError(r.error));
  const inLedger = new Set(ledger.value);
  await forgetMintedTokens(ctx.kube, ns, r.value.gone.filter((id) => inLedger.has(id)));
  if (r.value.deleted.length === 0) return;
  ctx.report({
    time: now,
    what: "BootstrapTokenExpired",
    reason: reason(
      "BootstrapTokenExpired",
      `expired join token Secrets deleted: ${r.value.deleted.join(", ")}`,
    ),
  });
}

/** The token ids recorded on NodeClaims (the claims are listed; Secrets never are). */
async function claimTokenIds(ctx: DaemonContext): Promise<Result<string[], string>> {
  const r = await ctx.kube.requestJson("GET", "/apis/proxscale.io/v1alpha1/nodeclaims");
  if (!r.ok) return isNotFound(r.error) ? ok([]) : err(describeKubeError(r.error));
  const items = (r.value.body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) return ok([]);
  const ids: string[] = [];
  for (const c of items as { metadata?: { annotations?: Record<string, unknown> } }[]) {
    const id = c?.metadata?.annotations?.[TOKEN_ID_ANNOTATION];
    if (typeof id === "string") ids.push(id);
  }
  return ok(ids);
}

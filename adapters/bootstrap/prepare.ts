/**
 * adapters/bootstrap: everything a new VM receives to join the cluster (the NoCloud seed:
 * user-data, meta-data, network-config, the ISO that carries them, the CA pins and the
 * kubelet-settable labels). The neighbour is the node being bootstrapped. This file is the
 * entry for launch workers. May be imported by daemon/, cli/ and adapters/proxmox/; imports
 * only core/, templates/ and npm/node built-ins.
 *
 * Everything a launch worker needs for one NodeClaim in mode `nocloudIso`, in one pure call:
 * a fresh token, its Secret (to create in kube-system before the VM starts), the rendered
 * seed, the ISO bytes and the volume name to upload them under, and the secrets to redact
 * from logs. The caller does the I/O: create the Secret, upload, attach; and on registration
 * or failure: detach, delete the volume, delete the Secret by name.
 */
import {
  type AuthExtraGroup,
  bootstrapSecretManifest,
  type BootstrapToken,
  type BootstrapTokenSecret,
  bootstrapTokenTtl,
  generateBootstrapToken,
  K3S_NODE_GROUP,
  KUBEADM_NODE_GROUP,
  type RandomBytes,
} from "../../core/bootstrap_token.ts";
import type { MachineTemplate, NodePool } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { isoVolumeName } from "./identity.ts";
import {
  buildSeedIso,
  type ClaimIdentity,
  type ClusterInfo,
  type NoCloudSeed,
  renderNoCloudSeed,
  type SecretText,
  type SeedError,
  type SeedInput,
  seedSecrets,
} from "./render.ts";

/** What `prepareNodeBootstrap` needs; `now` in epoch ms, timeouts in ms. */
export type PrepareInput = {
  template: MachineTemplate;
  pool: NodePool;
  claim: ClaimIdentity;
  cluster: ClusterInfo;
  values?: Record<string, string>;
  now: number;
  registrationTimeoutMs: number;
  random: RandomBytes;
};

/** The prepared bootstrap of one NodeClaim. */
export type PreparedBootstrap = {
  token: BootstrapToken;
  /** Create before the VM starts; delete by `secret.metadata.name` when done. */
  secret: BootstrapTokenSecret;
  seed: NoCloudSeed;
  iso: Uint8Array;
  /** File name for the `iso` storage upload; holds no secret. */
  isoName: string;
  /** Pass to `redact` before logging anything derived from the seed. */
  secrets: SecretText[];
};

/**
 * The auth-extra-group whose RBAC the template's join path relies on
 * (`system:bootstrappers:kubeadm:default-node-token`, or k3s's own default-node-token group).
 */
export function authExtraGroupFor(t: MachineTemplate): AuthExtraGroup {
  return t.bootstrap.template === "k3s" ? K3S_NODE_GROUP : KUBEADM_NODE_GROUP;
}

/** Mints the claim's token and renders its seed; a render problem is a value. */
export function prepareNodeBootstrap(
  input: PrepareInput,
): Result<PreparedBootstrap, SeedError | { kind: "ModeWithoutSeed"; message: string }> {
  if (input.template.bootstrap.mode !== "nocloudIso") {
    return err({
      kind: "ModeWithoutSeed",
      message:
        `MachineTemplate "${input.template.name}" uses bootstrap mode ${input.template.bootstrap.mode}, which proxscale delivers no seed ISO for`,
    });
  }
  const token = generateBootstrapToken(input.random);
  const ttl = bootstrapTokenTtl(input.registrationTimeoutMs);
  const seedInput: SeedInput = {
    template: input.template,
    pool: input.pool,
    claim: input.claim,
    cluster: input.cluster,
    join: { token, expiresAt: input.now + ttl },
    ...(input.values !== undefined ? { values: input.values } : {}),
  };
  const seed = renderNoCloudSeed(seedInput);
  if (!seed.ok) return seed;
  return ok({
    token,
    secret: bootstrapSecretManifest(token, input.now, ttl, {
      group: authExtraGroupFor(input.template),
      nodeClaim: input.claim.name,
    }),
    seed: seed.value,
    iso: buildSeedIso(seed.value, input.now),
    isoName: isoVolumeName(input.claim.name),
    secrets: seedSecrets(seedInput),
  });
}

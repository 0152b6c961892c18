/**
 * Test helpers for the fake kubelets: put a NoCloud seed ISO on a fake PVE VM's cdrom, create
 * a bootstrap-token Secret, and wait for something to become true.
 *
 * May import: fakes/, adapters/bootstrap/iso9660.ts (to write the seed image).
 */
import { buildNoCloudIso } from "../../../../adapters/bootstrap/iso9660.ts";
import type { KubeStore } from "../../../fake_kube/store.ts";
import type { FakePve } from "../../../fake_pve/server.ts";

/** Writes a cidata ISO with these files to `local` on the VM's host and attaches it as ide3. */
export function attachSeed(
  pve: FakePve,
  vmid: number,
  files: { userData: string; metaData?: string },
  label = "cidata",
): string {
  const st = pve.model.st;
  const vm = st.vms.get(vmid);
  if (!vm) throw new Error(`No VM ${vmid}`);
  const enc = new TextEncoder();
  const data = buildNoCloudIso([
    { name: "user-data", data: enc.encode(files.userData) },
    { name: "meta-data", data: enc.encode(files.metaData ?? `instance-id: "${vmid}"\n`) },
  ], label);
  const storage = st.storages.get("local")!;
  const name = `iso/seed-${vmid}.iso`;
  st.volumesOf(vm.node, storage).set(name, {
    storage: "local",
    name,
    size: data.length,
    content: "iso",
    data,
  });
  vm.conf.values.set("ide3", `local:${name},media=cdrom`);
  return `local:${name}`;
}

/** Creates `bootstrap-token-<id>` in kube-system as kubeadm does. */
export function addBootstrapToken(
  store: KubeStore,
  token: string,
  expiresAt = Date.now() + 3_600_000,
): void {
  const [id, secret] = token.split(".");
  const r = store.create("secrets", {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `bootstrap-token-${id}`, namespace: "kube-system" },
    type: "bootstrap.kubernetes.io/token",
    stringData: {
      "token-id": id!,
      "token-secret": secret!,
      "usage-bootstrap-authentication": "true",
      "usage-bootstrap-signing": "true",
      expiration: new Date(expiresAt).toISOString().replace(/\.\d+Z$/, "Z"),
    },
  }, { namespace: "kube-system" });
  if (!r.ok) throw new Error(r.error.message);
}

/** Resolves with `f()`'s first defined value, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  f: () => T | undefined,
  timeoutMs = 3000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const v = f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Writes a user-data snippet to `local` and points the VM's `cicustom` at it (PVE cloud-init). */
export function attachSnippet(pve: FakePve, vmid: number, userData: string): void {
  const st = pve.model.st;
  const vm = st.vms.get(vmid);
  if (!vm) throw new Error(`No VM ${vmid}`);
  const data = new TextEncoder().encode(userData);
  const name = `snippets/user-${vmid}.yaml`;
  st.volumesOf(vm.node, st.storages.get("local")!).set(name, {
    storage: "local",
    name,
    size: data.length,
    content: "snippets",
    data,
  });
  vm.conf.values.set("cicustom", `user=local:${name}`);
}

/**
 * Where `proxscale run` queues its jobs: Redis (BullMQ) when `--redis-url` is given or the
 * configuration's `queue.redis` is set, else the in-memory queue of one process. The
 * configuration's `queue` section is read from the YAML file with `--config` and from the
 * settings ConfigMap with `--crds`, so the same setting means the same in a pod and on a host.
 *
 * May import: core/, adapters/.
 */
import { z } from "zod";
import type { SecretSource } from "../core/model.ts";
import { err, ok, type Result } from "../core/result.ts";
import { configFile } from "../adapters/config/schema.ts";
import { parseYaml } from "../adapters/config/load.ts";
import { SETTINGS_CONFIGMAP, SETTINGS_KEY } from "../adapters/config/crd_source.ts";
import { describeKubeError, isNotFound, type KubeClient } from "../adapters/kubernetes/client.ts";
import type { RunSettings } from "../adapters/deploy/run_options.ts";

/** The Redis connection of the queue. */
export type RedisSettings = { url: string; password?: SecretSource | undefined };

const queueOnly = z.object({ queue: configFile.shape.queue }).loose();

function fromYaml(text: string, where: string): Result<RedisSettings | undefined, string> {
  const r = parseYaml(text, where, queueOnly);
  if (!r.ok) {
    const p = r.error[0];
    return err(`${where}: queue: ${p?.message ?? "invalid"}`);
  }
  return ok(r.value.parsed.queue?.redis);
}

/**
 * The queue's Redis settings from the flags over the configuration (file or settings
 * ConfigMap); undefined means the in-memory queue.
 */
export async function resolveRedis(
  s: RunSettings,
  kube: KubeClient,
): Promise<Result<RedisSettings | undefined, string>> {
  let configured: RedisSettings | undefined;
  if (s.source.kind === "file") {
    const r = fromYaml(await Deno.readTextFile(s.source.path), s.source.path);
    if (!r.ok) return r;
    configured = r.value;
  } else {
    const path = `/api/v1/namespaces/${s.namespace}/configmaps/${SETTINGS_CONFIGMAP}`;
    const cm = await kube.requestJson("GET", path);
    if (!cm.ok && !isNotFound(cm.error)) {
      return err(`ConfigMap ${s.namespace}/${SETTINGS_CONFIGMAP}: ${describeKubeError(cm.error)}`);
    }
    const text = cm.ok
      ? (cm.value.body as { data?: Record<string, string> })?.data?.[SETTINGS_KEY]
      : undefined;
    if (text !== undefined) {
      const r = fromYaml(text, `ConfigMap ${s.namespace}/${SETTINGS_CONFIGMAP}`);
      if (!r.ok) return r;
      configured = r.value;
    }
  }
  if (!s.redis) return ok(configured);
  return ok({
    url: s.redis.url,
    password: s.redis.passwordFile ? { file: s.redis.passwordFile } : configured?.password,
  });
}

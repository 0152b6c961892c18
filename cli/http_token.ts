/**
 * The bearer token `proxscale status`, `pause` and `resume` send to a daemon's HTTP port: read
 * from `--token-file` (the same file as the daemon's --http-token-file), trimmed. A daemon bound
 * beyond loopback refuses its status and switch routes without it.
 *
 * May import: nothing but Deno.
 */

/** Request headers carrying the token, or a message when the file cannot be used. */
export async function tokenHeaders(
  file: string | undefined,
): Promise<{ ok: true; value: Record<string, string> } | { ok: false; error: string }> {
  if (file === undefined) return { ok: true, value: {} };
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    return {
      ok: false,
      error: `--token-file ${file} cannot be read (${e instanceof Error ? e.name : "Error"})`,
    };
  }
  const token = text.trim();
  if (token === "" || /\s/.test(token)) {
    return { ok: false, error: `--token-file ${file} must hold one token` };
  }
  return { ok: true, value: { authorization: `Bearer ${token}` } };
}

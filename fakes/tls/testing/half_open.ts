/**
 * Whether a fake server's `close()` ends while a client holds a TCP connection whose TLS
 * handshake never started (a killed client's): the fakes' tests of their own shutdown.
 *
 * May import: fakes/.
 */

/** "closed", or why not: `close` still waiting after 10 s with a half-open connection on `port`. */
export async function closeWithHalfOpenConnection(
  port: number,
  close: () => Promise<void>,
): Promise<string> {
  const raw = await Deno.connect({ hostname: "127.0.0.1", port });
  // Let the server accept it; no ClientHello is ever sent.
  await new Promise((r) => setTimeout(r, 100));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    close().then(() => "closed"),
    new Promise<string>((r) => timer = setTimeout(() => r("still waiting after 10 s"), 10_000)),
  ]);
  clearTimeout(timer);
  try {
    raw.close();
  } catch { /* already closed by the server */ }
  return outcome;
}

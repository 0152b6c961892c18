/**
 * Request decoding exactly as pve-http-server does it: pairs split on
 * `&` and `;`, only the first `=` counts (a literal `=` truncates the value), `+` is a space,
 * then `%XX`. Repeated keys become arrays. Also the multipart parser for uploads.
 */

/** Decoded parameters; a repeated key becomes an array. */
export type RawParams = Record<string, string | string[]>;

function unescape(s: string): string {
  const bytes: number[] = [];
  const plus = s.replace(/\+/g, " ");
  for (let i = 0; i < plus.length; i++) {
    const c = plus[i]!;
    if (c === "%" && /^[0-9a-fA-F]{2}$/.test(plus.slice(i + 1, i + 3))) {
      bytes.push(parseInt(plus.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...new TextEncoder().encode(c));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Decodes a query string or form body with PVE's rules. */
export function decodeUrlencoded(input: string): RawParams {
  const out: RawParams = {};
  for (const piece of input.split(/[&;]/)) {
    if (piece === "") continue;
    const fields = piece.split("=");
    const key = unescape(fields[0]!);
    const value = unescape(fields[1] ?? "");
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else out[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/** One multipart part: a field or a file. */
export type Part = { name: string; filename?: string; data: Uint8Array };

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Splits a multipart/form-data body; undefined when it is malformed. */
export function parseMultipart(body: Uint8Array, boundary: string): Part[] | undefined {
  const enc = new TextEncoder();
  const delim = enc.encode(`--${boundary}`);
  const parts: Part[] = [];
  let pos = indexOf(body, delim, 0);
  if (pos < 0) return undefined;
  for (;;) {
    pos += delim.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return parts; // closing "--"
    pos += 2; // CRLF
    const headerEnd = indexOf(body, enc.encode("\r\n\r\n"), pos);
    if (headerEnd < 0) return undefined;
    const headers = new TextDecoder().decode(body.subarray(pos, headerEnd));
    const next = indexOf(body, enc.encode(`\r\n--${boundary}`), headerEnd + 4);
    if (next < 0) return undefined;
    const disp = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(headers)?.[1] ?? "";
    const name = /\bname="([^"]*)"/.exec(disp)?.[1];
    const filename = /\bfilename="([^"]*)"/.exec(disp)?.[1];
    if (name === undefined) return undefined;
    const part: Part = { name, data: body.subarray(headerEnd + 4, next) };
    if (filename !== undefined) part.filename = filename;
    parts.push(part);
    pos = next + 2;
  }
}

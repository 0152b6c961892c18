/**
 * Reads a Kubernetes list response (`{"kind":"PodList","metadata":{...},"items":[...]}`) from a
 * byte stream one item at a time. A list of 30,000 pods is tens of MB of JSON; parsing it whole
 * makes the text, the full object tree and the translated cache live at once, and V8 keeps that
 * peak as resident memory long after (docs/performance.md). Here only one item's text and
 * object exist at a time, so the informer's peak is its cache plus one item.
 *
 * A scanner tracks strings and nesting only; each item's text is handed to JSON.parse, so
 * escaping and numbers follow JSON.parse exactly.
 */
import { err, ok, type Result } from "../../core/result.ts";

const QUOTE = 34, BACKSLASH = 92, COMMA = 44, OPEN_BRACE = 123, CLOSE_BRACE = 125;
const OPEN_BRACKET = 91, CLOSE_BRACKET = 93;

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/**
 * Calls `onItem` with each parsed element of the top-level `items` array, in order, and returns
 * the rest of the list object (kind, metadata with resourceVersion and continue) with `items`
 * empty. An answer that is not a JSON object, or an item that is not valid JSON, is an error.
 */
export async function streamListItems(
  body: ReadableStream<Uint8Array>,
  onItem: (raw: unknown) => void,
): Promise<Result<Record<string, unknown>, string>> {
  let depth = 0, inStr = false, esc = false;
  let inItems = false, itemsSeen = false;
  let outer = "";
  let itemParts: string[] = [];
  let itemActive = false;
  let failure: string | undefined;
  const emit = (text: string) => {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      failure = `list item is not JSON: ${e instanceof Error ? e.message : e}`;
      return;
    }
    onItem(raw);
  };
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    let outerStart = inItems ? -1 : 0;
    let itemStart = itemActive ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (inStr) {
        if (esc) esc = false;
        else if (c === BACKSLASH) esc = true;
        else if (c === QUOTE) inStr = false;
        continue;
      }
      if (
        inItems && depth === 2 && !itemActive && !isSpace(c) && c !== COMMA &&
        c !== CLOSE_BRACKET
      ) {
        itemActive = true;
        itemStart = i;
        itemParts = [];
      }
      if (c === QUOTE) inStr = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        depth++;
        if (c === OPEN_BRACKET && depth === 2 && !itemsSeen) {
          const before = outer + chunk.slice(outerStart, i);
          if (/"items"\s*:\s*$/.test(before)) {
            // Keep `[` in the outer text so it parses with an empty items array.
            outer = before + "[";
            outerStart = -1;
            inItems = itemsSeen = true;
          }
        }
      } else if ((c === COMMA || c === CLOSE_BRACKET) && inItems && depth === 2) {
        if (itemActive) {
          emit(itemParts.join("") + chunk.slice(itemStart, i));
          if (failure) return err(failure);
          itemActive = false;
          itemParts = [];
          itemStart = -1;
        }
        if (c === CLOSE_BRACKET) {
          depth--;
          inItems = false;
          outerStart = i;
        }
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
    }
    if (itemActive && itemStart >= 0) itemParts.push(chunk.slice(itemStart));
    if (outerStart >= 0) outer += chunk.slice(outerStart);
  }
  if (inItems || itemActive) return err("list response ended inside items");
  let rest: unknown;
  try {
    rest = JSON.parse(outer);
  } catch (e) {
    return err(`list response is not JSON: ${e instanceof Error ? e.message : e}`);
  }
  if (typeof rest !== "object" || rest === null || Array.isArray(rest)) {
    return err("list response is not an object");
  }
  return ok(rest as Record<string, unknown>);
}

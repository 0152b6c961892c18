/**
 * A stable in-place sort that allocates nothing for the short arrays a decision pass sorts on
 * every call (a node's pods, a small cluster's nodes and claims). Array.prototype.sort is
 * stable too, so both give the same order for the same comparator; the built-in one allocates
 * its work arrays on every call, which a pass that runs tens of thousands of times pays for in
 * garbage collection.
 *
 * May import: nothing.
 */

/** Longest array sorted by insertion; longer ones go to Array.prototype.sort. */
const SMALL = 24;

/** Sorts `list` in place by `cmp` (stable) and returns it, like `list.sort(cmp)`. */
export function sortSmall<T>(list: T[], cmp: (a: T, b: T) => number): T[] {
  const n = list.length;
  if (n > SMALL) return list.sort(cmp);
  for (let i = 1; i < n; i++) {
    const x = list[i]!;
    let j = i - 1;
    // Move only past strictly greater elements: equal ones keep their order (stable).
    while (j >= 0 && cmp(list[j]!, x) > 0) {
      list[j + 1] = list[j]!;
      j--;
    }
    list[j + 1] = x;
  }
  return list;
}

/**
 * `sortSmall` that remembers its last answer per owner object (a Node for its pods, a call
 * site for a whole list): a pass sorts the same items in the same input order again and again
 * (a node's pods rarely change between passes), and comparing the items by identity is cheaper
 * than comparing their names. Same items in the same order give the same stable order, so the
 * answer is the one `sortSmall` would give; the comparator must read only fields that never
 * change on an item (names, uids). Owners are weakly held: a Node object the caller drops
 * takes its entry with it.
 */
export class SortMemo<K extends object, T> {
  readonly #last = new WeakMap<K, { input: T[]; sorted: T[] }>();

  constructor(private readonly cmp: (a: T, b: T) => number) {}

  /** Sorts `list` in place by the comparator (stable) and returns it. */
  sort(owner: K, list: T[]): T[] {
    const n = list.length;
    if (n < 2) return list;
    const had = this.#last.get(owner);
    if (had !== undefined && had.input.length === n) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (had.input[i] !== list[i]) {
          same = false;
          break;
        }
      }
      if (same) {
        for (let i = 0; i < n; i++) list[i] = had.sorted[i]!;
        return list;
      }
    }
    const input = list.slice();
    sortSmall(list, this.cmp);
    this.#last.set(owner, { input, sorted: list.slice() });
    return list;
  }
}

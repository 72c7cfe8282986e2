/**
 * A growable list of 32-bit integers backed by an Int32Array. The planner keeps jobs, files
 * and edges as integer indices so that a 1M-job workflow needs a few flat arrays instead of
 * millions of small objects.
 */
export class IntList {
  data: Int32Array;
  length = 0;

  constructor(capacity = 16) {
    this.data = new Int32Array(Math.max(4, capacity));
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }

  /** A view of the filled part (shares memory with the list until the next push grows it). */
  view(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

/**
 * Compressed sparse rows: the items of row r are `items[start[r] .. start[r+1])`.
 * Built from (row, item) pairs by counting, so no per-row arrays exist.
 */
export interface Csr {
  start: Int32Array;
  items: Int32Array;
}

export function buildCsr(rows: number, rowOf: Int32Array, itemOf: Int32Array): Csr {
  const start = new Int32Array(rows + 1);
  for (let i = 0; i < rowOf.length; i++) start[rowOf[i]! + 1]!++;
  for (let r = 0; r < rows; r++) start[r + 1]! += start[r]!;
  const fill = start.slice(0, rows);
  const items = new Int32Array(rowOf.length);
  for (let i = 0; i < rowOf.length; i++) items[fill[rowOf[i]!]!++] = itemOf[i]!;
  return { start, items };
}

/** Rows up to this long are de-duplicated by comparing with the row's items so far. */
const SHORT_ROW = 16;

/**
 * Remove repeated items within each row (keeping first occurrences, in order). Short rows
 * (nearly all of them) compare within the row, which stays in cache; only long rows use
 * the per-item stamps, whose random access over a million-entry array is what made this
 * dominate at 1M jobs.
 */
export function dedupeCsr(csr: Csr, universe: number): Csr {
  const { start, items } = csr;
  const rows = start.length - 1;
  let mark: Int32Array | undefined;
  const outStart = new Int32Array(rows + 1);
  const out = new Int32Array(items.length);
  let k = 0;
  for (let r = 0; r < rows; r++) {
    outStart[r] = k;
    const from = start[r]!;
    const to = start[r + 1]!;
    if (to - from <= SHORT_ROW) {
      const rowStart = k;
      for (let i = from; i < to; i++) {
        const v = items[i]!;
        let seen = false;
        for (let o = rowStart; o < k && !seen; o++) seen = out[o] === v;
        if (!seen) out[k++] = v;
      }
      continue;
    }
    mark ??= new Int32Array(universe);
    const stamp = r + 1;
    for (let i = from; i < to; i++) {
      const v = items[i]!;
      if (mark[v] === stamp) continue;
      mark[v] = stamp;
      out[k++] = v;
    }
  }
  outStart[rows] = k;
  return { start: outStart, items: k === out.length ? out : out.slice(0, k) };
}

/** The transpose of a CSR adjacency (children -> parents), rows in index order. */
export function transposeCsr(csr: Csr, rows: number): Csr {
  const start = new Int32Array(rows + 1);
  for (let i = 0; i < csr.items.length; i++) start[csr.items[i]! + 1]!++;
  for (let r = 0; r < rows; r++) start[r + 1]! += start[r]!;
  const fill = start.slice(0, rows);
  const items = new Int32Array(csr.items.length);
  const n = csr.start.length - 1;
  for (let u = 0; u < n; u++) {
    for (let i = csr.start[u]!; i < csr.start[u + 1]!; i++) items[fill[csr.items[i]!]!++] = u;
  }
  return { start, items };
}

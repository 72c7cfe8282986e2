/**
 * Cleanup of site stores (Pegasus `--cleanup`), never touching the output store, bypassed
 * inputs or replica locations (those never become store records):
 * - inplace (default): a file is deleted once every job that reads it from that store (its
 *   consumers there, its stage_out, an inter_site transfer copying it away) has finished;
 *   files with the same set of last readers share a cleanup job (at most CLEANUP_FILES each);
 * - leaf: per store, cleanup jobs that run after every job touching that store;
 * - constraint: inplace, plus the ordering cleanup-constraint.ts adds for stores with a
 *   maxspace (this function does the inplace part);
 * - none: nothing.
 * A file nobody reads that is not staged out is a workflow output: deleting it would lose
 * it, so it stays (with a reason). Cleanup priority is the highest of its parents' so space
 * is freed early.
 */
import { IntList, transposeCsr } from './int-list.js';
import type { Graph } from './graph.js';
import { OUT_STAGE } from './graph.js';
import { NO_IDS, type PlanBuilder } from './plan-builder.js';
import type { CleanupMode, PlannedJob } from './plan-types.js';
import { HELPER_RESOURCES } from './profiles.js';
import type { ReasonLog } from './reasons.js';
import { REC_PRODUCED, type StoreFiles, type StoreMap } from './staging.js';

export const CLEANUP_FILES = 100;

export interface CleanupResult {
  /** Per store record: the cleanup node that deletes it, -1 when nothing does. */
  cleanupOf: Int32Array;
}

export function planCleanup(
  mode: CleanupMode,
  g: Graph,
  stores: StoreMap,
  files: StoreFiles,
  builder: PlanBuilder,
  defaultRetries: number,
  reasons: ReasonLog,
): CleanupResult {
  const cleanupOf = new Int32Array(files.size).fill(-1);
  if (mode === 'none' || files.size === 0) return { cleanupOf };

  // Stores that are the output store are never cleaned.
  const protectedStore = new Uint8Array(stores.storeUrls.length);
  stores.storeUrls.forEach((url, s) => {
    if (url !== stores.outputStore) return;
    protectedStore[s] = 1;
    reasons.add(
      stores.siteNames[stores.storeSite[s]!]!,
      'cleanup',
      `no cleanup in ${url}: it is the output store`,
    );
  });

  // Which records can be deleted, and after whom: sorted distinct readers of each
  // deletable record, stored flat (rdStart/rdLen into rd) — no per-record arrays.
  const stageOut = stagedOutFiles(g);
  const deletable = new IntList(files.size);
  const rd = new IntList(files.size * 2);
  const rdStart = new Int32Array(files.size);
  const rdLen = new Int32Array(files.size);
  const scratch = { buf: new Int32Array(64) };
  for (let r = 0; r < files.size; r++) {
    if (protectedStore[files.store.data[r]!] || files.keep.has(r)) continue;
    let k = files.readers(r, scratch);
    const f = files.file.data[r]!;
    if (k === 0) {
      const isWorkflowOutput =
        files.kind.data[r] === REC_PRODUCED &&
        !stageOut[f] &&
        g.consumers.start[f + 1]! === g.consumers.start[f]!;
      if (isWorkflowOutput) {
        reasons.add(
          g.fileNames[f]!,
          'cleanup',
          `kept in the ${stores.siteNames[stores.storeSite[files.store.data[r]!]!]} store: a workflow output that is not staged out (stageOut: false), deleting it would lose it`,
        );
        continue;
      }
      scratch.buf[0] = files.writer.data[r]!;
      k = 1;
    }
    k = sortUnique(scratch.buf, k);
    rdStart[r] = rd.length;
    rdLen[r] = k;
    for (let i = 0; i < k; i++) rd.push(scratch.buf[i]!);
    deletable.push(r);
  }

  const counter = new Int32Array(stores.storeUrls.length);
  /** One cleanup job on `store` deleting recs[from, to), after parentsOf(0..count). */
  const make = (
    store: number,
    parentsOf: (i: number) => number,
    count: number,
    recs: ArrayLike<number>,
    from: number,
    to: number,
  ): void => {
    const site = stores.siteNames[stores.storeSite[store]!]!;
    let priority = -Infinity;
    for (let i = 0; i < count; i++) {
      priority = Math.max(priority, builder.jobs[parentsOf(i)]!.priority);
    }
    const deletes = new Array<{ lfn: string; url: string }>(to - from);
    // Deletion goes through the put URL; the jobs' entry holds it unless reads use another.
    const entryIsPut = stores.storeGetUrls[store] === stores.storeUrls[store];
    for (let i = from; i < to; i++) {
      const r = recs[i]!;
      // Reuse the jobs' entry for this file when it says exactly {lfn, url}.
      const e = entryIsPut ? files.entry[r] : undefined;
      if (e && e.size === undefined && e.checksum === undefined && e.optional === undefined) {
        deletes[i - from] = e;
      } else {
        const lfn = g.fileNames[files.file.data[r]!]!;
        deletes[i - from] = { lfn, url: stores.storeUrls[store]! + lfn };
      }
    }
    const job: PlannedJob = {
      id: builder.uniqueId(`cleanup_${site}_${counter[store]!++}`),
      kind: 'cleanup',
      site,
      parents: NO_IDS,
      covers: NO_IDS,
      priority: Number.isFinite(priority) ? priority : 0,
      retries: defaultRetries,
      resources: HELPER_RESOURCES,
      deletes,
    };
    const node = builder.add(job);
    for (let i = 0; i < count; i++) builder.addEdge(parentsOf(i), node);
    for (let i = from; i < to; i++) cleanupOf[recs[i]!] = node;
  };

  if (mode === 'inplace' || mode === 'constraint') {
    // Group records with the same (store, readers): an open-addressing table of group
    // indices keyed by a hash of the readers (at most half full), exact comparison on a
    // hash match. Typed arrays only: a 1M-job workflow has millions of records.
    const dl = deletable.view();
    const groupOf = new Int32Array(dl.length);
    const groupRep = new IntList(1024);
    const groupSize = new IntList(1024);
    const groupHash = new IntList(1024);
    let capacity = 16;
    while (capacity < 2 * dl.length) capacity *= 2;
    const table = new Int32Array(capacity).fill(-1);
    const mask = capacity - 1;
    for (let d = 0; d < dl.length; d++) {
      const r = dl[d]!;
      const st = files.store.data[r]!;
      let h = (st * 0x9e3779b1) | 0;
      for (let i = rdStart[r]!; i < rdStart[r]! + rdLen[r]!; i++) {
        h = Math.imul(h ^ rd.data[i]!, 0x01000193);
      }
      let slot = (h ^ (h >>> 15)) & mask;
      let gi = table[slot]!;
      while (gi !== -1 && !(groupHash.data[gi] === h && sameReaders(groupRep.data[gi]!, r))) {
        slot = (slot + 1) & mask;
        gi = table[slot]!;
      }
      if (gi === -1) {
        gi = groupRep.length;
        groupRep.push(r);
        groupSize.push(0);
        groupHash.push(h);
        table[slot] = gi;
      }
      groupOf[d] = gi;
      groupSize.data[gi]!++;
    }
    // Records of each group, contiguous, in record order.
    const groups = groupRep.length;
    const start = new Int32Array(groups + 1);
    for (let gi = 0; gi < groups; gi++) start[gi + 1] = start[gi]! + groupSize.data[gi]!;
    const fill = start.slice(0, groups);
    const recs = new Int32Array(dl.length);
    for (let d = 0; d < dl.length; d++) recs[fill[groupOf[d]!]!++] = dl[d]!;
    // Number cleanup jobs in the order their last readers were planned.
    const lastReader = (gi: number): number => {
      const r = groupRep.data[gi]!;
      return rd.data[rdStart[r]! + rdLen[r]! - 1]!;
    };
    // A counting sort by last reader (a node index), ties in group order: the same order
    // as sorting by (last reader, group), without a comparator call per comparison.
    const readerStart = new Int32Array(builder.size + 1);
    for (let gi = 0; gi < groups; gi++) readerStart[lastReader(gi) + 1]!++;
    for (let v = 0; v < builder.size; v++) readerStart[v + 1]! += readerStart[v]!;
    const order = new Int32Array(groups);
    for (let gi = 0; gi < groups; gi++) order[readerStart[lastReader(gi)]!++] = gi;
    for (let o = 0; o < groups; o++) {
      const gi = order[o]!;
      const rep = groupRep.data[gi]!;
      const store = files.store.data[rep]!;
      const parentsOf = (i: number): number => rd.data[rdStart[rep]! + i]!;
      for (let at = start[gi]!; at < start[gi + 1]!; at += CLEANUP_FILES) {
        make(store, parentsOf, rdLen[rep]!, recs, at, Math.min(at + CLEANUP_FILES, start[gi + 1]!));
      }
    }
    return { cleanupOf };
  }

  // leaf: after the last jobs touching each store (those with no child touching it).
  const parentsCsr = builder.parentsCsr();
  const children = transposeCsr(parentsCsr, builder.size);
  const byStore = new Map<number, number[]>();
  for (const r of deletable.view()) {
    const s = files.store.data[r]!;
    const list = byStore.get(s);
    if (list) list.push(r);
    else byStore.set(s, [r]);
  }
  const mark = new Int32Array(builder.size);
  for (const [store, list] of byStore) {
    const stamp = store + 1;
    const touching: number[] = [];
    const touch = (v: number): void => {
      if (mark[v] === stamp) return;
      mark[v] = stamp;
      touching.push(v);
    };
    for (let r = 0; r < files.size; r++) {
      if (files.store.data[r] !== store) continue;
      touch(files.writer.data[r]!);
      const k = files.readers(r, scratch);
      for (let i = 0; i < k; i++) touch(scratch.buf[i]!);
    }
    const sinks: number[] = [];
    for (const v of touching) {
      let sink = true;
      for (let i = children.start[v]!; i < children.start[v + 1]! && sink; i++) {
        if (mark[children.items[i]!] === stamp) sink = false;
      }
      if (sink) sinks.push(v);
    }
    sinks.sort((a, b) => a - b);
    for (let at = 0; at < list.length; at += CLEANUP_FILES) {
      make(
        store,
        (i) => sinks[i]!,
        sinks.length,
        list,
        at,
        Math.min(at + CLEANUP_FILES, list.length),
      );
    }
    reasons.add(
      stores.siteNames[stores.storeSite[store]!]!,
      'cleanup',
      `leaf cleanup: ${list.length} files deleted from ${stores.storeUrls[store]} after the last ${sinks.length} jobs using that store`,
    );
  }
  return { cleanupOf };

  function sameReaders(a: number, b: number): boolean {
    if (files.store.data[a] !== files.store.data[b] || rdLen[a] !== rdLen[b]) return false;
    for (let i = 0; i < rdLen[a]!; i++) {
      if (rd.data[rdStart[a]! + i] !== rd.data[rdStart[b]! + i]) return false;
    }
    return true;
  }
}

/** Sort buf[0..k) ascending in place and drop repeats; returns the new length. */
function sortUnique(buf: Int32Array, k: number): number {
  // Insertion sort for the usual handful of readers; a file read by thousands of jobs
  // (a shared header, a reference genome) gets the typed-array sort.
  if (k > 32) {
    buf.subarray(0, k).sort();
  } else {
    for (let i = 1; i < k; i++) {
      const v = buf[i]!;
      let j = i - 1;
      while (j >= 0 && buf[j]! > v) {
        buf[j + 1] = buf[j]!;
        j--;
      }
      buf[j + 1] = v;
    }
  }
  let w = 0;
  for (let i = 0; i < k; i++) if (i === 0 || buf[i] !== buf[w - 1]) buf[w++] = buf[i]!;
  return w;
}

/** Per file: is it staged out by its producer? */
function stagedOutFiles(g: Graph): Uint8Array {
  const out = new Uint8Array(g.fileNames.length);
  for (let i = 0; i < g.outputs.items.length; i++) {
    if (g.outputFlags[i]! & OUT_STAGE) out[g.outputs.items[i]!] = 1;
  }
  return out;
}

/**
 * Constraint cleanup (Pegasus `--cleanup constraint`): every store with a maxspace
 * (site-stores.ts: `pegasus.file.cleanup.constraint.maxspace`) is kept under that many bytes
 * by plan edges alone — the engine and broker need nothing new.
 *
 * Model. A file the plan puts into a store (a job's output, a stage-in or inter-site copy)
 * occupies its size from the moment its writer starts until the cleanup job deleting it has
 * finished; files never deleted (workflow outputs that are not staged out) occupy it to the
 * end. Files without a size count as 0 bytes (a reason says how many), and what was in the
 * store before the workflow (replicas already at the store location) is not counted.
 *
 * Algorithm, per constrained store S with maxspace M:
 * 1. Deletion as soon as possible: the inplace cleanup (cleanup.ts) deletes each file right
 *    after its last reader.
 * 2. One global order π of the plan's jobs, demand-driven: a depth-first post-order over
 *    parents from each sink in turn, so a job comes right after the jobs that produce its
 *    inputs, a branch is finished before the next one starts, and a stage-in comes just
 *    before its consumer (stage-ins into S are grouped per first consumer, staging.ts).
 * 3. A sequential simulation of π: a file is written at its writer's position and dies at
 *    the position of its last reader (or at its writer, when nobody reads it). The writers
 *    into S are cut greedily into epochs E1, E2, ...: with L(k) the bytes alive at the start
 *    of epoch k (L(1) = 0) and W(k) the bytes epoch k writes, a writer joins the current
 *    epoch while L(k) + W(k) stays <= M, else it opens the next epoch.
 * 4. Edges: a barrier job B(k) (a cleanup job with nothing to delete) follows every cleanup
 *    job deleting a file that died before epoch k began (and died after epoch k-1 began) and
 *    B(k-1); every writer of epoch k follows B(k). Writers that add no bytes are not held.
 *
 * Guarantee: in ANY execution that respects the plan's edges, whatever runs in parallel, the
 * bytes in S never exceed max over k of L(k-1) + W(k) <= M. Proof sketch: let k be the
 * highest epoch with a started writer. B(k) has finished, so (by the chain of barriers) every
 * file that died before epoch k began in the simulation has been deleted — and was written
 * before that, because its cleanup follows its readers, which follow its writer. What remains
 * from writers of epochs < k is what the simulation keeps alive at the start of epoch k,
 * L(k); epoch k itself adds at most W(k); later epochs have not started. Every added edge
 * goes forward in π (cleanups after their readers, barriers before later writers), so the
 * plan stays acyclic.
 *
 * Cannot fit (invalid input, exit 2, with the numbers): a job whose inputs and outputs in S
 * together exceed M (it needs them all at once), and a writer that cannot start even in an
 * epoch of its own, L(k) + its bytes > M — the files then alive are still needed later in
 * this order; the message lists the largest.
 */
import { formatBytes } from '../model/index.js';
import { planCleanup } from './cleanup.js';
import type { Graph } from './graph.js';
import { IntList, transposeCsr } from './int-list.js';
import { NO_IDS, type PlanBuilder } from './plan-builder.js';
import type { PlannedJob } from './plan-types.js';
import type { ProblemList } from './problems.js';
import { listSome } from './problems.js';
import { HELPER_RESOURCES } from './profiles.js';
import type { ReasonLog } from './reasons.js';
import type { StoreFiles, StoreMap } from './staging.js';
import { MAXSPACE_KEY, type MaxSpace } from './site-stores.js';

export interface ConstraintInput {
  g: Graph;
  stores: StoreMap;
  /** Per store: its maxspace, undefined when it has none. */
  maxSpace: (MaxSpace | undefined)[];
  files: StoreFiles;
  builder: PlanBuilder;
  defaultRetries: number;
  reasons: ReasonLog;
  problems: ProblemList;
  /** Where jobs are defined, for problems (the workflow file). */
  source: string;
}

/** Per constrained store: the epochs as positions in π and the bound they guarantee. */
export interface StoreConstraint {
  store: number;
  maxSpace: number;
  /** Positions in π where epochs 2, 3, ... begin. */
  boundaries: number[];
  /** max over epochs of L(k-1) + W(k): the guaranteed peak. */
  bound: number;
}

/**
 * Inplace cleanup plus the constraint ordering. Problems (a store that cannot stay under its
 * maxspace) go to `x.problems`; the caller throws them.
 */
export function planConstraintCleanup(x: ConstraintInput): StoreConstraint[] {
  const { g, stores, files, builder, reasons } = x;
  // The order is taken before cleanup jobs exist: they are not part of the simulation.
  const n0 = builder.size;
  const order = demandOrder(builder.parentsCsr(), n0);
  const pos = new Int32Array(n0);
  for (let p = 0; p < n0; p++) pos[order[p]!] = p;

  const { cleanupOf } = planCleanup(
    'constraint',
    g,
    stores,
    files,
    builder,
    x.defaultRetries,
    reasons,
  );

  // Records of each store, by counting.
  const storeCount = stores.storeUrls.length;
  const byStoreStart = new Int32Array(storeCount + 1);
  for (let r = 0; r < files.size; r++) byStoreStart[files.store.data[r]! + 1]!++;
  for (let s = 0; s < storeCount; s++) byStoreStart[s + 1]! += byStoreStart[s]!;
  const fill = byStoreStart.slice(0, storeCount);
  const byStore = new Int32Array(files.size);
  for (let r = 0; r < files.size; r++) byStore[fill[files.store.data[r]!]!++] = r;

  const out: StoreConstraint[] = [];
  const scratch = { buf: new Int32Array(64) };
  const writeBytes = new Float64Array(n0);
  const readBytes = new Float64Array(n0);
  const seen = new Uint8Array(n0);
  /** The record a node was last counted as reading (reader lists may repeat a node). */
  const readOf = new Int32Array(n0).fill(-1);
  for (let s = 0; s < storeCount; s++) {
    const max = x.maxSpace[s];
    if (!max || !stores.constrained[s]) continue;
    const recs = byStore.subarray(byStoreStart[s]!, byStoreStart[s + 1]!);
    const result = constrainStore(s, max, recs);
    if (result) out.push(result);
  }
  return out;

  function constrainStore(s: number, max: MaxSpace, recs: Int32Array): StoreConstraint | undefined {
    const M = max.bytes;
    const site = stores.siteNames[stores.storeSite[s]!]!;
    const url = stores.storeUrls[s]!;
    const size = new Float64Array(recs.length);
    const death = new Float64Array(recs.length);
    const touched = new IntList(64);
    let unknown = 0;
    for (let i = 0; i < recs.length; i++) {
      const r = recs[i]!;
      const z0 = g.fileSize[files.file.data[r]!]!;
      const z = Number.isNaN(z0) ? 0 : z0;
      if (Number.isNaN(z0)) unknown++;
      size[i] = z;
      const w = files.writer.data[r]!;
      if (!seen[w]) {
        seen[w] = 1;
        touched.push(w);
      }
      writeBytes[w]! += z;
      const k = files.readers(r, scratch);
      let last = pos[w]!;
      for (let j = 0; j < k; j++) {
        const v = scratch.buf[j]!;
        if (pos[v]! > last) last = pos[v]!;
        if (v === w || readOf[v] === r) continue;
        readOf[v] = r;
        if (!seen[v]) {
          seen[v] = 1;
          touched.push(v);
        }
        readBytes[v]! += z;
      }
      death[i] = cleanupOf[r] === -1 ? Infinity : last;
    }
    if (unknown > 0) {
      reasons.add(
        site,
        'cleanup',
        `${unknown} file${unknown > 1 ? 's' : ''} written into the ${site} store ${url} ${unknown > 1 ? 'have' : 'has'} no size and count${unknown > 1 ? '' : 's'} as 0 bytes: the maxspace guarantee covers known sizes only`,
      );
    }

    // 1. Jobs that can never fit.
    let fits = true;
    const tv = touched.view();
    const sortedTouched = Int32Array.from(tv).sort((a, b) => pos[a]! - pos[b]!);
    for (const v of sortedTouched) {
      const need = writeBytes[v]! + readBytes[v]!;
      if (need <= M) continue;
      fits = false;
      const id = builder.jobs[v]!.id;
      x.problems.add('maxspace', {
        where: builder.jobs[v]!.kind === 'compute' ? `${x.source}: job ${id}` : `job ${id}`,
        message: `needs ${formatBytes(need)} in the ${site} store (${url}) at once — inputs ${formatBytes(readBytes[v]!)} + outputs ${formatBytes(writeBytes[v]!)} (largest: ${largestOf(v)}) — more than the store's maxspace ${formatBytes(M)} from ${max.from}: it can never fit`,
        hint: `raise pegasus.${MAXSPACE_KEY} for site ${site} to at least ${need} bytes, or run the job on a site with a larger store`,
      });
    }
    if (!fits) {
      reset(tv);
      return undefined;
    }

    // 2. Simulate π and cut the writers into epochs.
    const deathOrder = Array.from(recs.keys())
      .filter((i) => Number.isFinite(death[i]!))
      .sort((a, b) => death[a]! - death[b]!);
    const boundaries: number[] = [];
    let live = 0;
    let lPrev = 0;
    let wCur = 0;
    let bound = 0;
    let d = 0;
    for (let p = 0; p < n0; p++) {
      const v = order[p]!;
      const w = writeBytes[v]!;
      if (w > 0) {
        if (lPrev + wCur + w > M) {
          lPrev = live;
          if (lPrev + w > M) {
            const id = builder.jobs[v]!.id;
            x.problems.add('maxspace', {
              where: `site ${site}: store ${url}`,
              message: `cannot stay under its maxspace ${formatBytes(M)} (from ${max.from}) in the order aloft chose: before job ${id} writes ${formatBytes(w)}, ${formatBytes(lPrev)} must stay in the store for jobs that still read them (largest: ${liveAt(p)})`,
              hint: `raise the maxspace to at least ${lPrev + w} bytes, or plan with --cleanup inplace`,
            });
            reset(tv);
            return undefined;
          }
          boundaries.push(p);
          wCur = 0;
        }
        wCur += w;
        live += w;
        if (lPrev + wCur > bound) bound = lPrev + wCur;
      }
      while (d < deathOrder.length && death[deathOrder[d]!] === p) live -= size[deathOrder[d++]!]!;
    }

    // 3. Barriers.
    let prev = -1;
    let di = 0;
    const site0 = stores.storeSite[s]!;
    for (let k = 0; k < boundaries.length; k++) {
      const b = boundaries[k]!;
      const next = k + 1 < boundaries.length ? boundaries[k + 1]! : n0;
      const cleanups = new Set<number>();
      let freed = 0;
      let count = 0;
      while (di < deathOrder.length && death[deathOrder[di]!]! < b) {
        const i = deathOrder[di++]!;
        cleanups.add(cleanupOf[recs[i]!]!);
        freed += size[i]!;
        count++;
      }
      const parents = [...cleanups].sort((a, c) => a - c);
      if (prev >= 0) parents.push(prev);
      let priority = -Infinity;
      for (const q of parents) priority = Math.max(priority, builder.jobs[q]!.priority);
      const job: PlannedJob = {
        id: builder.uniqueId(`cleanup_barrier_${stores.siteNames[site0]}_${k + 1}`),
        kind: 'cleanup',
        site,
        parents: NO_IDS,
        covers: NO_IDS,
        priority: Number.isFinite(priority) ? priority : 0,
        retries: x.defaultRetries,
        resources: HELPER_RESOURCES,
        deletes: [],
      };
      const node = builder.add(job);
      for (const q of parents) builder.addEdge(q, node);
      const held: string[] = [];
      for (let p = b; p < next; p++) {
        const v = order[p]!;
        if (writeBytes[v]! > 0) {
          builder.addEdge(node, v);
          held.push(builder.jobs[v]!.id);
        }
      }
      reasons.add(
        job.id,
        'cleanup',
        `holds back ${held.length} job${held.length === 1 ? '' : 's'} writing into the ${site} store (${listSome(held)}) until the cleanup of ${count} file${count === 1 ? '' : 's'} (${formatBytes(freed)}) has freed space: maxspace ${formatBytes(M)}`,
      );
      prev = node;
    }
    reasons.add(
      site,
      'cleanup',
      `constraint cleanup keeps the ${site} store ${url} under its maxspace ${formatBytes(M)} (from ${max.from}): ${boundaries.length === 0 ? 'the whole workflow fits, no job is held back' : `${boundaries.length} barrier${boundaries.length === 1 ? '' : 's'} hold back writers until cleanup has freed space`}; usage is at most ${formatBytes(bound)} in any execution order`,
    );
    reset(tv);
    return { store: s, maxSpace: M, boundaries, bound };

    function largestOf(v: number): string {
      const mine: [string, number][] = [];
      for (let i = 0; i < recs.length; i++) {
        const r = recs[i]!;
        let uses = files.writer.data[r] === v;
        if (!uses) {
          const k = files.readers(r, scratch);
          for (let j = 0; j < k && !uses; j++) uses = scratch.buf[j] === v;
        }
        if (uses) mine.push([g.fileNames[files.file.data[r]!]!, size[i]!]);
      }
      mine.sort((a, b) => b[1] - a[1]);
      return listSome(
        mine.map(([lfn, z]) => `${lfn} ${formatBytes(z)}`),
        3,
      );
    }

    function liveAt(p: number): string {
      const alive: [string, number][] = [];
      for (let i = 0; i < recs.length; i++) {
        const r = recs[i]!;
        if (pos[files.writer.data[r]!]! < p && death[i]! >= p && size[i]! > 0) {
          alive.push([g.fileNames[files.file.data[r]!]!, size[i]!]);
        }
      }
      alive.sort((a, b) => b[1] - a[1]);
      return listSome(
        alive.map(([lfn, z]) => `${lfn} ${formatBytes(z)}`),
        3,
      );
    }
  }

  function reset(nodes: Int32Array): void {
    for (const v of nodes) {
      writeBytes[v] = 0;
      readBytes[v] = 0;
      seen[v] = 0;
    }
  }
}

/**
 * A topological order of nodes 0..n-1, demand-driven: for each sink in index order, a
 * depth-first post-order over parents (parents in their listed order). A node comes right
 * after what it needs; iterative, so a million-job chain does not overflow the stack.
 */
export function demandOrder(
  parents: { start: Int32Array; items: Int32Array },
  n: number,
): Int32Array {
  const children = transposeCsr(parents, n);
  const order = new Int32Array(n);
  const state = new Uint8Array(n);
  const stack = new Int32Array(n);
  const next = new Int32Array(n);
  let k = 0;
  for (let sink = 0; sink < n; sink++) {
    if (children.start[sink + 1]! !== children.start[sink]! || state[sink]) continue;
    let top = 0;
    stack[0] = sink;
    next[0] = parents.start[sink]!;
    state[sink] = 1;
    while (top >= 0) {
      const v = stack[top]!;
      const i = next[top]!;
      if (i < parents.start[v + 1]!) {
        next[top] = i + 1;
        const p = parents.items[i]!;
        if (state[p] === 0) {
          state[p] = 1;
          stack[++top] = p;
          next[top] = parents.start[p]!;
        }
      } else {
        order[k++] = v;
        state[v] = 2;
        top--;
      }
    }
  }
  return order;
}

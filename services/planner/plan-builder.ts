/**
 * Accumulates the planned jobs while planning: nodes are numbered in creation order, edges
 * are kept as integer parent lists, ids are made unique (compute jobs keep their abstract
 * id; helper jobs get `stage_in_<site>_<level>_<k>`-style ids, suffixed on collision).
 * finish() de-duplicates parents and returns the jobs in a deterministic topological order
 * (Kahn, first-in first-out, creation order among ready jobs) with `parents` as ids.
 */
import { isJobId, sanitizeJobId } from '../model/index.js';
import { buildCsr, dedupeCsr, IntList, transposeCsr } from './int-list.js';
import type { PlannedJob } from './plan-types.js';

/**
 * The empty id list helper jobs share for `covers` (and every job holds as `parents` until
 * finish()): frozen, so a caller that tries to modify it fails loudly instead of changing
 * every job at once.
 */
export const NO_IDS: string[] = Object.freeze([]) as unknown as string[];

export class PlanBuilder {
  readonly jobs: PlannedJob[] = [];
  private readonly edgeChild: IntList;
  private readonly edgeParent: IntList;
  private readonly used = new Set<string>();

  /** `taken(id)`: is the id an abstract job's (compute jobs keep theirs; helpers avoid them). */
  constructor(
    private readonly taken: (id: string) => boolean,
    /** Expected number of edges (a sizing hint). */
    edges = 1024,
  ) {
    this.edgeChild = new IntList(edges);
    this.edgeParent = new IntList(edges);
  }

  /** A fresh id from `base` (sanitised to [A-Za-z0-9_-]); `_2`, `_3`... on collision. */
  uniqueId(base: string): string {
    const clean = isJobId(base) ? base : sanitizeJobId(base);
    if (!this.used.has(clean) && !this.taken(clean)) {
      this.used.add(clean);
      return clean;
    }
    for (let k = 2; ; k++) {
      const id = `${clean}_${k}`;
      if (!this.used.has(id) && !this.taken(id)) {
        this.used.add(id);
        return id;
      }
    }
  }

  /** Add a job; its id is unique (an abstract id, or one from uniqueId()). */
  add(job: PlannedJob): number {
    this.jobs.push(job);
    return this.jobs.length - 1;
  }

  addEdge(parent: number, child: number): void {
    if (parent === child) return;
    this.edgeParent.push(parent);
    this.edgeChild.push(child);
  }

  get size(): number {
    return this.jobs.length;
  }

  /** Parents of every node so far (deduplicated CSR), for cleanup's reachability needs. */
  parentsCsr(): { start: Int32Array; items: Int32Array } {
    return dedupeCsr(
      buildCsr(this.jobs.length, this.edgeChild.view(), this.edgeParent.view()),
      this.jobs.length,
    );
  }

  finish(): PlannedJob[] {
    const n = this.jobs.length;
    const parents = this.parentsCsr();
    const children = transposeCsr(parents, n);
    for (let v = 0; v < n; v++) {
      const job = this.jobs[v]!;
      const s = parents.start[v]!;
      const list = new Array<string>(parents.start[v + 1]! - s);
      for (let i = 0; i < list.length; i++) list[i] = this.jobs[parents.items[s + i]!]!.id;
      job.parents = list;
    }
    const indeg = new Int32Array(n);
    for (let v = 0; v < n; v++) indeg[v] = parents.start[v + 1]! - parents.start[v]!;
    const order = new Array<PlannedJob>(n);
    const queue = new Int32Array(n);
    let tail = 0;
    for (let v = 0; v < n; v++) if (indeg[v] === 0) queue[tail++] = v;
    for (let head = 0; head < tail; head++) {
      const u = queue[head]!;
      order[head] = this.jobs[u]!;
      for (let i = children.start[u]!; i < children.start[u + 1]!; i++) {
        const c = children.items[i]!;
        if (--indeg[c]! === 0) queue[tail++] = c;
      }
    }
    if (tail !== n) {
      // The planner only adds edges that follow the abstract DAG and its clusters (checked
      // for cycles before staging), so this is a bug, not bad input.
      throw new Error(`planner produced a cyclic plan (${n - tail} jobs on cycles)`);
    }
    return order;
  }
}

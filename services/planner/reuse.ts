/**
 * Data reuse (Pegasus' data reuse engine): with `reuse && !force`, a job whose outputs all
 * exist already (exact replica catalog entries, or lfns the caller lists in
 * `options.available`, i.e. present in the output store) is pruned. Then, bottom-up, a job
 * is pruned too when every child is pruned and each of its outputs either exists or is not
 * staged out (nobody needs it any more). Inputs of kept jobs whose producer was pruned are
 * later staged from where they exist.
 *
 * Regex replica entries describe where inputs may be found; they never count as evidence
 * that an output was already produced.
 */
import type { Graph } from './graph.js';
import { OUT_STAGE } from './graph.js';
import { listSome } from './problems.js';
import type { ReasonLog } from './reasons.js';
import type { ReplicaIndex } from './replicas.js';

export const AVAIL_REPLICA = 1;
export const AVAIL_OUTPUT_STORE = 2;

export interface ReuseResult {
  pruned: Uint8Array;
  /** Per file: AVAIL_REPLICA | AVAIL_OUTPUT_STORE bits (only computed with reuse on). */
  avail: Uint8Array;
}

export function pruneForReuse(
  g: Graph,
  replicas: ReplicaIndex,
  available: readonly string[],
  enabled: boolean,
  reasons: ReasonLog,
): ReuseResult {
  const n = g.jobs.length;
  const pruned = new Uint8Array(n);
  const avail = new Uint8Array(g.fileNames.length);
  if (!enabled) return { pruned, avail };
  for (let f = 0; f < g.fileNames.length; f++) {
    if (replicas.hasExact(g.fileNames[f]!)) avail[f]! |= AVAIL_REPLICA;
  }
  for (const lfn of available) {
    const f = g.fileIndex.get(lfn);
    if (f !== undefined) avail[f]! |= AVAIL_OUTPUT_STORE;
  }
  const { outputs, outputFlags, children } = g;

  for (let j = 0; j < n; j++) {
    const s = outputs.start[j]!;
    const e = outputs.start[j + 1]!;
    if (s === e) continue; // a job with no outputs may have side effects: always run it
    let all = true;
    for (let i = s; i < e && all; i++) all = avail[outputs.items[i]!] !== 0;
    if (!all) continue;
    pruned[j] = 1;
    if (reasons.wants('skip')) {
      const where = new Set<string>();
      const files: string[] = [];
      for (let i = s; i < e; i++) {
        const f = outputs.items[i]!;
        files.push(g.fileNames[f]!);
        if (avail[f]! & AVAIL_REPLICA) where.add('replica catalog');
        if (avail[f]! & AVAIL_OUTPUT_STORE) where.add('output store');
      }
      reasons.add(
        g.jobs[j]!.id,
        'skip',
        `outputs ${listSome(files)} already exist (${[...where].join(', ')})`,
      );
    } else reasons.count('skip');
  }

  // Cascade upward: reverse topological order sees every child before its parents.
  for (let k = g.order.length - 1; k >= 0; k--) {
    const j = g.order[k]!;
    if (pruned[j]) continue;
    const cs = children.start[j]!;
    const ce = children.start[j + 1]!;
    if (cs === ce) continue;
    let ok = true;
    for (let i = cs; i < ce && ok; i++) ok = pruned[children.items[i]!] === 1;
    for (let i = outputs.start[j]!; i < outputs.start[j + 1]! && ok; i++) {
      ok = avail[outputs.items[i]!] !== 0 || (outputFlags[i]! & OUT_STAGE) === 0;
    }
    if (!ok) continue;
    pruned[j] = 1;
    if (reasons.wants('skip')) {
      const kids: string[] = [];
      for (let i = cs; i < ce; i++) kids.push(g.jobs[children.items[i]!]!.id);
      reasons.add(
        g.jobs[j]!.id,
        'skip',
        `not needed: every child (${listSome(kids)}) is skipped, and each of its outputs already exists or is not staged out`,
      );
    } else reasons.count('skip');
  }
  return { pruned, avail };
}

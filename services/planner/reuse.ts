/**
 * Data reuse (Pegasus' data reuse engine), with `reuse && !force`.
 *
 * Evidence that an output exists, all gathered by the caller (the planner does no I/O):
 * - exact replica catalog entries (trusted as Pegasus trusts them, unless a location is
 *   shown missing or different by the evidence below);
 * - `options.existing`: copies the caller looked for (earlier runs' output replica catalogs,
 *   the output store; reuse-evidence.ts gathers them) with the sha256 of their bytes when
 *   known and the sha256 an earlier run recorded;
 * - `options.available`: lfns known to exist in the output store, without checksums (used
 *   only for lfns `existing` says nothing about).
 *
 * The checksum an output must have is the replica catalog's (when its entry gives one), else
 * the one an earlier run recorded. A copy counts only when no checksum is known, or when its
 * own sha256 equals that one: a copy whose bytes differ, or that could not be hashed while a
 * checksum is known, does not count, and neither does a recorded location where the file is
 * gone; such URLs are never used as stage-in sources either.
 *
 * A job whose outputs all exist is pruned. Then, bottom-up, a job is pruned too when every
 * child is pruned and each of its outputs either exists or is not staged out (nobody needs it
 * any more). Inputs of kept jobs whose producer was pruned are later staged from where they
 * exist (verified copies carry their checksum, so the transfer checks it). Every pruned job
 * gets a `skip` reason; a kept job some of whose outputs were found — or found wanting — gets
 * a `reuse` reason saying why it runs (missing, checksum mismatch, not checkable).
 *
 * Regex replica entries describe where inputs may be found; they never count as evidence
 * that an output was already produced.
 */
import type { ExistingFile } from './plan-types.js';
import type { Graph } from './graph.js';
import { OUT_STAGE } from './graph.js';
import { listSome } from './problems.js';
import type { ReasonLog } from './reasons.js';
import type { Location, ReplicaIndex } from './replicas.js';

export const AVAIL_REPLICA = 1;
export const AVAIL_OUTPUT_STORE = 2;
/** A copy from `options.existing` that passed the checksum rule. */
export const AVAIL_VERIFIED = 4;

export interface ReuseResult {
  pruned: Uint8Array;
  /** Per file: AVAIL_* bits (only computed with reuse on). */
  avail: Uint8Array;
  /** Per file: copies that passed the checksum rule, usable as stage-in sources. */
  copies: Map<number, Location[]>;
  /** URLs shown missing or different: never used as sources. */
  distrusted: Set<string>;
}

export interface ReuseEvidence {
  available: readonly string[];
  existing: readonly ExistingFile[];
  /** Base URL the output store is read through: copies there are named "output store". */
  outputStore: string;
}

const NONE: ReuseResult = {
  pruned: new Uint8Array(0),
  avail: new Uint8Array(0),
  copies: new Map(),
  distrusted: new Set(),
};

export function pruneForReuse(
  g: Graph,
  replicas: ReplicaIndex,
  evidence: ReuseEvidence,
  enabled: boolean,
  reasons: ReasonLog,
): ReuseResult {
  const n = g.jobs.length;
  const pruned = new Uint8Array(n);
  const avail = new Uint8Array(g.fileNames.length);
  if (!enabled) return { ...NONE, pruned, avail };
  const copies = new Map<number, Location[]>();
  const distrusted = new Set<string>();
  /** Per file with evidence: how its copies fared (for reasons). */
  const notes = new Map<number, { ok: string[]; bad: string[] }>();

  // Evidence from the caller, grouped by file.
  const byFile = new Map<number, ExistingFile[]>();
  for (const e of evidence.existing) {
    const f = g.fileIndex.get(e.lfn);
    if (f === undefined) continue;
    const list = byFile.get(f);
    if (list) list.push(e);
    else byFile.set(f, [e]);
  }
  for (const [f, list] of byFile) {
    const lfn = g.fileNames[f]!;
    const fromCatalog = replicas.hasExact(lfn) ? catalogChecksum(replicas, lfn) : undefined;
    const recorded = list.find((e) => e.recorded)?.recorded;
    const expected = fromCatalog ?? recorded?.sha256;
    const expectedFrom = fromCatalog ? 'the replica catalog' : `the record of ${recorded?.by}`;
    const note = { ok: [] as string[], bad: [] as string[] };
    notes.set(f, note);
    for (const e of list) {
      if (!e.present) {
        distrusted.add(e.url);
        note.bad.push(
          `${lfn} is gone from ${e.url}${e.recorded ? ` (recorded there by ${e.recorded.by})` : ''}`,
        );
      } else if (expected === undefined) {
        addCopy(f, { url: e.url, site: e.site });
        note.ok.push(where(e.url));
      } else if (e.sha256 === undefined) {
        note.bad.push(
          `${lfn} at ${e.url} could not be checked against sha256 ${expected} from ${expectedFrom}`,
        );
      } else if (e.sha256.toLowerCase() !== expected.toLowerCase()) {
        distrusted.add(e.url);
        note.bad.push(
          `${lfn} at ${e.url} has sha256 ${e.sha256}, but ${expectedFrom} says ${expected}`,
        );
      } else {
        addCopy(f, {
          url: e.url,
          site: e.site,
          checksum: { type: 'sha256', value: expected.toLowerCase() },
        });
        note.ok.push(`${where(e.url)}, sha256 matches ${expectedFrom}`);
      }
    }
  }
  for (let f = 0; f < g.fileNames.length; f++) {
    const lfn = g.fileNames[f]!;
    if (!replicas.hasExact(lfn)) continue;
    // A catalog entry counts unless every one of its locations is shown missing or different.
    if (distrusted.size === 0 || replicas.locations(lfn).some((l) => !distrusted.has(l.url))) {
      avail[f]! |= AVAIL_REPLICA;
    }
  }
  for (const f of copies.keys()) avail[f]! |= AVAIL_VERIFIED;
  for (const lfn of evidence.available) {
    const f = g.fileIndex.get(lfn);
    if (f !== undefined && !byFile.has(f)) avail[f]! |= AVAIL_OUTPUT_STORE;
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
        if (avail[f]! & AVAIL_VERIFIED) for (const ok of notes.get(f)!.ok) where.add(ok);
      }
      reasons.add(
        g.jobs[j]!.id,
        'skip',
        `outputs ${listSome(files)} already exist (${listSome([...where])})`,
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

  // Why kept jobs run although some of their outputs were found.
  if (notes.size > 0) {
    for (let j = 0; j < n; j++) {
      if (pruned[j]) continue;
      const s = outputs.start[j]!;
      const e = outputs.start[j + 1]!;
      let seen = false;
      for (let i = s; i < e && !seen; i++) seen = notes.has(outputs.items[i]!);
      if (!seen) continue;
      if (!reasons.wants('reuse')) {
        reasons.count('reuse');
        continue;
      }
      const why: string[] = [];
      for (let i = s; i < e; i++) {
        const f = outputs.items[i]!;
        if (avail[f]) continue;
        const note = notes.get(f);
        if (note && note.bad.length > 0) why.push(...note.bad);
        else why.push(`${g.fileNames[f]!} does not exist`);
      }
      reasons.add(g.jobs[j]!.id, 'reuse', `runs: ${listSome(why, 3)}`);
    }
  }
  return { pruned, avail, copies, distrusted };

  function where(url: string): string {
    return url.startsWith(evidence.outputStore) ? 'output store' : url;
  }

  function addCopy(f: number, loc: Location): void {
    const list = copies.get(f);
    if (!list) copies.set(f, [loc]);
    else if (!list.some((l) => l.url === loc.url)) list.push(loc);
  }
}

/** The checksum the replica catalog gives for an exact lfn, if any. */
function catalogChecksum(replicas: ReplicaIndex, lfn: string): string | undefined {
  for (const l of replicas.locations(lfn)) if (l.checksum) return l.checksum.value;
  return undefined;
}

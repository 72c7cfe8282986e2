/**
 * Which run directory `aloft run` uses, and whether it resumes (DESIGN §6: a failed or
 * interrupted workflow resumes from where it stopped).
 *
 * - `--run-dir DIR` that holds a run: already succeeded -> "already complete"; same plan ->
 *   resume; a different plan -> invalid input (the workflow changed).
 * - default: the newest `./runs/<name>-NNN`, when it did not succeed and its plan equals the
 *   new one, resumes; otherwise a new `./runs/<name>-NNN` is made (NNN = newest + 1).
 * Plans depend on the run directory (its stores are in it), so the candidate's plan is made
 * for the candidate directory, with the same reuse inputs (`available`, `existing`) it was
 * first made with, and compared by digest.
 */
import path from 'node:path';
import { AloftError } from '../../lib/errors/index.js';
import type { PlanOptions } from '../../proto/plan.js';
import {
  isRunDir,
  listRuns,
  numberedRunDir,
  readRunInfo,
  runState,
  storedPlanDigest,
} from '../../services/run/index.js';

export interface PlannedFor {
  digest: string;
}

export type Resolution<P extends PlannedFor> =
  | { kind: 'complete'; dir: string }
  | { kind: 'resume'; dir: string; planned: P }
  | { kind: 'new'; dir: string; planned: P };

/** What reuse knows before planning (recorded in the plan's options). */
export type ReuseInputs = Pick<PlanOptions, 'available' | 'existing'>;

export interface ResolveOptions<P extends PlannedFor> {
  cwd: string;
  workflowName: string;
  /** `--run-dir`, when given. */
  runDir?: string;
  reuse: boolean;
  /** With `reuse`: the existing outputs found for a new plan (PlanOptions.existing). */
  existing?: PlanOptions['existing'];
  /** Plan for a run directory with the given reuse inputs (undefined: reuse off). */
  planFor: (dir: string, reuse: ReuseInputs | undefined) => P;
}

export function runsRoot(cwd: string): string {
  return path.join(cwd, 'runs');
}

export function resolveRun<P extends PlannedFor>(o: ResolveOptions<P>): Resolution<P> {
  const root = runsRoot(o.cwd);
  const fresh = (dir: string): Resolution<P> => ({
    kind: 'new',
    dir,
    planned: o.planFor(dir, o.reuse ? { existing: o.existing ?? [] } : undefined),
  });
  const sameAs = (dir: string): P | undefined => {
    const info = readRunInfo(dir);
    let reuse: ReuseInputs | undefined;
    if (o.reuse) {
      reuse = {};
      if (info?.options.available !== undefined) reuse.available = info.options.available;
      if (info?.options.existing !== undefined) reuse.existing = info.options.existing;
    }
    const planned = o.planFor(dir, reuse);
    return planned.digest === storedPlanDigest(dir) ? planned : undefined;
  };

  if (o.runDir !== undefined) {
    const dir = path.resolve(o.cwd, o.runDir);
    if (!isRunDir(dir)) return fresh(dir);
    if (runState(dir) === 'succeeded') return { kind: 'complete', dir };
    const planned = sameAs(dir);
    if (!planned) {
      throw AloftError.invalid({
        where: `--run-dir ${dir}`,
        message: `run dir ${dir} holds a different plan (workflow changed); use a new --run-dir`,
        hint: 'pass a new --run-dir, or leave it out to get ./runs/<workflow>-NNN',
      });
    }
    return { kind: 'resume', dir, planned };
  }

  const runs = listRuns(root, o.workflowName);
  const newest = runs[runs.length - 1];
  if (newest) {
    if (!isRunDir(newest.dir)) return fresh(newest.dir); // made, then stopped before planning
    if (runState(newest.dir) !== 'succeeded') {
      const planned = sameAs(newest.dir);
      if (planned) return { kind: 'resume', dir: newest.dir, planned };
    }
  }
  return fresh(numberedRunDir(root, o.workflowName, (newest?.n ?? 0) + 1));
}

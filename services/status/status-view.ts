/**
 * The data view `aloft status` prints (and `--json` emits): the run's state and per-state
 * job counts, overall and by kind. Pure: built from a StatusFold plus a liveness probe.
 *
 * Run state: the latest run_started closed by a run_finished → that run_finished's state;
 * otherwise `running` while the engine process is alive, else `interrupted` (the process
 * went away without journaling run_finished: kill -9, crash, power loss). When the run is
 * not live, attempts the journal still shows as running are not running any more: they
 * are counted as ready (a resume runs them again).
 */
import type { PlannedJobKind } from '../../proto/plan.js';
import type { RunEndState } from '../journal/events.js';
import type { JobProgress, StateCounts, StatusFold } from './status-fold.js';

export type RunState = 'running' | RunEndState;

/** Whether the engine process of a run is alive, and how that was decided. */
export interface Liveness {
  live: boolean;
  pid?: number;
  /** How it was decided, for humans: "pid 123 (run.lock)", "no process has the journal open". */
  detail: string;
}

export interface StatusView {
  workflow: string;
  runDir: string;
  state: RunState;
  /** Why the state is what it is, e.g. "process gone" for an interrupted run. */
  detail?: string;
  total: number;
  /** done / total, in whole percent, rounded down (100 only when every job is done). */
  percent: number;
  counts: StateCounts;
  byKind: Partial<Record<PlannedJobKind, StateCounts & { total: number }>>;
  /** 1 + the number of resumes. */
  starts: number;
  started?: string;
  finished?: string;
  lastEvent?: string;
  events: number;
  /**
   * Running transfer jobs' latest progress (files and bytes done of their total), in plan
   * order; absent when none reported any (or the run is not running).
   */
  transfers?: JobProgress[];
}

export function statusView(
  fold: StatusFold,
  o: { runDir: string; liveness: Liveness; workflow?: string },
): StatusView {
  const run = fold.run;
  let state: RunState;
  let detail: string | undefined;
  if (run.finished) {
    state = run.finished.state;
  } else if (o.liveness.live) {
    state = 'running';
    detail = o.liveness.detail;
  } else {
    state = 'interrupted';
    detail = `process gone${run.starts === 0 ? ' before the run started' : ''}: ${o.liveness.detail}`;
  }
  const counts = fold.countsAll();
  const byKind = fold.countsByKind();
  if (state !== 'running') {
    settle(counts);
    for (const row of Object.values(byKind)) settle(row);
  }
  const total = fold.total;
  const percent = total === 0 ? (state === 'succeeded' ? 100 : 0) : percentOf(counts.done, total);
  const view: StatusView = {
    workflow: o.workflow ?? run.workflow ?? '',
    runDir: o.runDir,
    state,
    total,
    percent,
    counts,
    byKind,
    starts: run.starts,
    events: run.events,
  };
  if (detail !== undefined) view.detail = detail;
  if (run.firstStart !== undefined) view.started = run.firstStart;
  if (run.finished) view.finished = run.finished.ts;
  if (run.lastEventTs !== undefined) view.lastEvent = run.lastEventTs;
  if (state === 'running') {
    const transfers = fold.progressOfRunning();
    if (transfers.length > 0) view.transfers = transfers;
  }
  return view;
}

/** Whole percent rounded down, so 100% means all done. */
export function percentOf(part: number, total: number): number {
  if (total <= 0) return 0;
  return Math.floor((part * 100) / total);
}

/** Nothing runs in a run that is not live: running and retrying jobs wait for a resume. */
function settle(c: StateCounts): void {
  c.ready += c.running + c.retrying;
  c.running = 0;
  c.retrying = 0;
}

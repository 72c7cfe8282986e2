/**
 * Run status: the job-state projection of a run's journal (shared with analyze and stats),
 * the status view and its rendering, and the read-only access to a run directory that all
 * three projections use.
 */
export {
  StatusFold,
  JOB_STATES,
  emptyCounts,
  type JobState,
  type StateCounts,
  type FoldJob,
  type RunFacts,
  type JobProgress,
} from './status-fold.js';
export {
  statusView,
  percentOf,
  type StatusView,
  type RunState,
  type Liveness,
} from './status-view.js';
export { probeLiveness, pidAlive, type ProbeOptions } from './liveness.js';
export {
  JournalTail,
  parseRecord,
  type TailReadOptions,
  type LiteEvent,
  type LiteAttemptFinished,
} from './journal-tail.js';
export { openRunDir, type OpenRun } from './run-dir.js';
export { renderStatus, renderTransfers, progressBar, skippedLinesWarning } from './render.js';
export { formatTable, type Column } from './text-table.js';
export { transformationOf } from './transformation.js';

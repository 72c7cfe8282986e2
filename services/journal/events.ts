/**
 * Journal events: every state change of a run, appended (and fsync'd) before anyone is
 * told about it (DESIGN §6). Status, analyze and stats are projections of these events.
 * Records are JSON lines; each carries a monotonically increasing `seq` and a wall-clock
 * `ts` (ISO 8601). Adding optional fields is compatible; changing meaning is not.
 */
import type { Failure, InvocationRecord } from '../../proto/attempt.js';
import type { PlannedJobKind } from '../../proto/plan.js';

interface Base {
  seq: number;
  ts: string;
}

/** A run began (first start) or resumed (a later start on the same run directory). */
export interface RunStarted extends Base {
  type: 'run_started';
  runId: string;
  workflow: string;
  /** sha256 of the plan file, so a resume against a different plan is detected. */
  planDigest: string;
  /** Number of planned jobs, and the kind of each is in the plan file. */
  jobs: number;
  resumed: boolean;
}

export interface AttemptStarted extends Base {
  type: 'attempt_started';
  job: string;
  kind: PlannedJobKind;
  attempt: number;
  epoch: number;
  agent: string;
  site: string;
  host: string;
}

export interface AttemptFinished extends Base {
  type: 'attempt_finished';
  job: string;
  attempt: number;
  epoch: number;
  ok: boolean;
  record: InvocationRecord;
  failure?: Failure;
}

/**
 * How far a running attempt of a job that moves many files (a transfer job) got, as its
 * agent reported it: files and bytes done of the job's total (bytes count whole files).
 * Journaled sparingly (at most every PROGRESS_MIN_MS per job): status shows the latest.
 */
export interface AttemptProgress extends Base {
  type: 'attempt_progress';
  job: string;
  attempt: number;
  epoch: number;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/** A job's one accepted completion. */
export interface JobSucceeded extends Base {
  type: 'job_succeeded';
  job: string;
  attempt: number;
}

/**
 * A failed attempt will be retried after `delayMs`. Whether it spent one of the job's
 * retries follows from `failure.kind` (application, data, timeout spend one; infrastructure
 * spends none up to the engine's cap; cancelled never does).
 */
export interface JobRetry extends Base {
  type: 'job_retry';
  job: string;
  nextAttempt: number;
  delayMs: number;
  failure: Failure;
  /**
   * Set when a resumed run reopens the job: an attempt cut short by the previous process
   * (failure.kind 'cancelled'), or a job that had failed (`job_failed`), which gets a fresh
   * set of retries like a Pegasus rescue-DAG rerun.
   */
  resume?: boolean;
}

/** A job exhausted its retries (or failed in a way retries cannot help). */
export interface JobFailed extends Base {
  type: 'job_failed';
  job: string;
  attempts: number;
  failure: Failure;
}

export type RunEndState = 'succeeded' | 'failed' | 'interrupted';

export interface RunFinished extends Base {
  type: 'run_finished';
  state: RunEndState;
}

export type JournalEvent =
  | RunStarted
  | AttemptStarted
  | AttemptProgress
  | AttemptFinished
  | JobSucceeded
  | JobRetry
  | JobFailed
  | RunFinished;

/** An event before the journal assigns seq and ts. */
export type NewEvent = JournalEvent extends infer E
  ? E extends JournalEvent
    ? Omit<E, 'seq' | 'ts'>
    : never
  : never;

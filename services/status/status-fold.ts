/**
 * The job-state projection of a run: a pure fold over journal events and the plan, shared
 * by status, analyze and stats so that all three agree on what state a job is in.
 *
 * States (DESIGN §7): unready (a parent has not succeeded), ready (could run now, not
 * started), running (an attempt started and has not finished), retrying (an attempt failed
 * and the engine scheduled another), done (job_succeeded), failed (job_failed: retries
 * exhausted). Transitions, per event:
 *   attempt_started            → running (a done job stays done: done jobs are never rerun)
 *   attempt_finished ok        → stays running until job_succeeded (same group commit)
 *   attempt_finished failed    → waiting (then job_retry → retrying, job_failed → failed;
 *                                a cancelled attempt stays waiting: it will run again)
 *   attempt_progress           → the running attempt's files/bytes done (transfer jobs);
 *                                forgotten when the job leaves running
 *   job_succeeded / job_retry / job_failed → done / retrying / failed
 *   run_finished               → dangling running attempts are abandoned → waiting
 *   run_started (a resume)     → running/retrying → waiting; failed → waiting too, because
 *                                a resumed run gives failed jobs a fresh set of retries
 * "waiting" is shown as ready or unready by the number of parents not yet done.
 *
 * Cost: O(jobs + edges) to build from the plan, O(1) per event except job_succeeded which
 * touches the job's children (O(edges) over a whole run). Unknown event types and events
 * about jobs not in the plan are ignored (events.ts grows additively).
 */
import type { RunEndState } from '../journal/events.js';
import type { LiteEvent } from './journal-tail.js';
import type { TransferProgress } from '../../proto/agent-protocol.js';
import { PLANNED_JOB_KINDS, type PlannedJob, type PlannedJobKind } from '../../proto/plan.js';

export type JobState = 'unready' | 'ready' | 'running' | 'retrying' | 'done' | 'failed';

export const JOB_STATES: readonly JobState[] = [
  'unready',
  'ready',
  'running',
  'retrying',
  'done',
  'failed',
];

export type StateCounts = Record<JobState, number>;

/** The latest progress a running transfer job reported (attempt_progress). */
export interface JobProgress extends TransferProgress {
  job: string;
  attempt: number;
  /** When it was journaled. */
  ts: string;
}

/** The parts of a planned job the fold needs (a full PlannedJob fits). */
export type FoldJob = Pick<PlannedJob, 'id' | 'kind' | 'parents'>;

// Internal states; WAITING is displayed as ready/unready by pending parents.
const WAITING = 0;
const RUNNING = 1;
const RETRYING = 2;
const DONE = 3;
const FAILED = 4;

// Display-state indexes, in JOB_STATES order.
const D_UNREADY = 0;
const D_READY = 1;
const D_RUNNING = 2;
const D_RETRYING = 3;
const D_DONE = 4;
const D_FAILED = 5;
const NSTATES = 6;

const KIND_INDEX = new Map<PlannedJobKind, number>(PLANNED_JOB_KINDS.map((k, i) => [k, i]));

/** What the journal says about the run as a whole. */
export interface RunFacts {
  workflow?: string;
  runId?: string;
  /** Number of run_started events (1 + resumes). */
  starts: number;
  firstStart?: string;
  lastStart?: string;
  /** The run_finished that closed the latest start, if any. */
  finished?: { state: RunEndState; ts: string };
  lastEventTs?: string;
  lastSeq?: number;
  events: number;
  /** Events naming a job the plan does not have (a plan/journal mismatch). */
  unknownJobEvents: number;
}

export class StatusFold {
  readonly total: number;
  readonly run: RunFacts = { starts: 0, events: 0, unknownJobEvents: 0 };

  private readonly ids: string[];
  private readonly index = new Map<string, number>();
  private readonly kinds: Uint8Array;
  private readonly state: Uint8Array;
  private readonly pending: Int32Array;
  private readonly attempt: Int32Array;
  private readonly childStart: Int32Array;
  private readonly children: Int32Array;
  /** counts[kind * NSTATES + displayState] */
  private readonly counts: Int32Array;
  /** Latest progress of running jobs that reported one, by job index. */
  private readonly progress = new Map<number, JobProgress>();

  constructor(jobs: readonly FoldJob[]) {
    const n = jobs.length;
    this.total = n;
    this.ids = new Array<string>(n);
    this.kinds = new Uint8Array(n);
    this.state = new Uint8Array(n);
    this.pending = new Int32Array(n);
    this.attempt = new Int32Array(n);
    this.counts = new Int32Array(PLANNED_JOB_KINDS.length * NSTATES);
    for (let i = 0; i < n; i++) {
      const j = jobs[i]!;
      this.ids[i] = j.id;
      this.index.set(j.id, i);
      this.kinds[i] = KIND_INDEX.get(j.kind) ?? 0;
    }
    // Children in CSR form: childStart[p]..childStart[p+1] index into children.
    const degree = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) {
      for (const p of jobs[i]!.parents) {
        const pi = this.index.get(p);
        if (pi === undefined) continue;
        degree[pi + 1]!++;
        this.pending[i]!++;
      }
    }
    for (let i = 0; i < n; i++) degree[i + 1]! += degree[i]!;
    this.childStart = degree;
    this.children = new Int32Array(degree[n]!);
    const fill = degree.slice(0, n);
    for (let i = 0; i < n; i++) {
      for (const p of jobs[i]!.parents) {
        const pi = this.index.get(p);
        if (pi === undefined) continue;
        this.children[fill[pi]!++] = i;
      }
    }
    for (let i = 0; i < n; i++) this.counts[this.kinds[i]! * NSTATES + this.display(i)]!++;
  }

  /** Fold one event (a full JournalEvent, or the lite form status reads). */
  apply(e: LiteEvent): void {
    const run = this.run;
    run.events++;
    run.lastEventTs = e.ts;
    run.lastSeq = e.seq;
    switch (e.type) {
      case 'run_started':
        if (run.starts > 0 || e.resumed) this.resetForResume();
        run.starts++;
        run.workflow = e.workflow;
        run.runId = e.runId;
        run.firstStart ??= e.ts;
        run.lastStart = e.ts;
        run.finished = undefined;
        return;
      case 'run_finished':
        run.finished = { state: e.state, ts: e.ts };
        this.abandonRunning();
        return;
      case 'attempt_started': {
        const i = this.job(e.job);
        if (i === undefined) return;
        if (e.attempt > this.attempt[i]!) this.attempt[i] = e.attempt;
        this.progress.delete(i);
        if (this.state[i] !== DONE) this.set(i, RUNNING);
        return;
      }
      case 'attempt_progress': {
        const i = this.job(e.job);
        if (i === undefined || this.state[i] !== RUNNING || e.attempt !== this.attempt[i]) return;
        this.progress.set(i, {
          job: e.job,
          attempt: e.attempt,
          filesDone: e.filesDone,
          filesTotal: e.filesTotal,
          bytesDone: e.bytesDone,
          bytesTotal: e.bytesTotal,
          ts: e.ts,
        });
        return;
      }
      case 'attempt_finished': {
        const i = this.job(e.job);
        if (i === undefined) return;
        if (e.attempt === this.attempt[i] && this.state[i] === RUNNING && !e.ok) {
          this.set(i, WAITING);
        }
        return;
      }
      case 'job_succeeded': {
        const i = this.job(e.job);
        if (i !== undefined) this.set(i, DONE);
        return;
      }
      case 'job_retry': {
        const i = this.job(e.job);
        if (i !== undefined && this.state[i] !== DONE) this.set(i, RETRYING);
        return;
      }
      case 'job_failed': {
        const i = this.job(e.job);
        if (i !== undefined && this.state[i] !== DONE) this.set(i, FAILED);
        return;
      }
      default:
        return;
    }
  }

  /** The display state of a job, or undefined if the plan has no such job. */
  stateOf(id: string): JobState | undefined {
    const i = this.index.get(id);
    return i === undefined ? undefined : JOB_STATES[this.display(i)];
  }

  /** Highest attempt number started for a job (0 = never started). */
  attemptsOf(id: string): number {
    const i = this.index.get(id);
    return i === undefined ? 0 : this.attempt[i]!;
  }

  /** Ids of jobs in a given state, in plan order. O(jobs). */
  jobsIn(state: JobState): string[] {
    const d = JOB_STATES.indexOf(state);
    const out: string[] = [];
    for (let i = 0; i < this.total; i++) if (this.display(i) === d) out.push(this.ids[i]!);
    return out;
  }

  /** Latest progress of each running job that reported one, in plan order. */
  progressOfRunning(): JobProgress[] {
    return [...this.progress.keys()].sort((a, b) => a - b).map((i) => this.progress.get(i)!);
  }

  /** Per-state counts over all planned jobs (they sum to `total`). */
  countsAll(): StateCounts {
    const c = emptyCounts();
    for (let k = 0; k < PLANNED_JOB_KINDS.length; k++) addInto(c, this.countsRow(k));
    return c;
  }

  /** Per-state counts by job kind, for the kinds the plan has, in PLANNED_JOB_KINDS order. */
  countsByKind(): Partial<Record<PlannedJobKind, StateCounts & { total: number }>> {
    const out: Partial<Record<PlannedJobKind, StateCounts & { total: number }>> = {};
    PLANNED_JOB_KINDS.forEach((kind, k) => {
      const row = this.countsRow(k);
      const total = JOB_STATES.reduce((s, st) => s + row[st], 0);
      if (total > 0) out[kind] = { ...row, total };
    });
    return out;
  }

  /**
   * Ids of jobs that are not done and have a failed ancestor: they never ran (or will not
   * run again) because of that failure. O(jobs + edges).
   */
  blockedByFailure(): string[] {
    const mark = new Uint8Array(this.total);
    const stack: number[] = [];
    for (let i = 0; i < this.total; i++) if (this.state[i] === FAILED) stack.push(i);
    while (stack.length > 0) {
      const p = stack.pop()!;
      for (let c = this.childStart[p]!; c < this.childStart[p + 1]!; c++) {
        const ch = this.children[c]!;
        if (mark[ch] === 0 && this.state[ch] !== DONE) {
          mark[ch] = 1;
          stack.push(ch);
        }
      }
    }
    const out: string[] = [];
    for (let i = 0; i < this.total; i++) if (mark[i] === 1) out.push(this.ids[i]!);
    return out;
  }

  private countsRow(k: number): StateCounts {
    const base = k * NSTATES;
    return {
      unready: this.counts[base + D_UNREADY]!,
      ready: this.counts[base + D_READY]!,
      running: this.counts[base + D_RUNNING]!,
      retrying: this.counts[base + D_RETRYING]!,
      done: this.counts[base + D_DONE]!,
      failed: this.counts[base + D_FAILED]!,
    };
  }

  private job(id: string): number | undefined {
    const i = this.index.get(id);
    if (i === undefined) this.run.unknownJobEvents++;
    return i;
  }

  private display(i: number): number {
    switch (this.state[i]) {
      case RUNNING:
        return D_RUNNING;
      case RETRYING:
        return D_RETRYING;
      case DONE:
        return D_DONE;
      case FAILED:
        return D_FAILED;
      default:
        return this.pending[i]! > 0 ? D_UNREADY : D_READY;
    }
  }

  private set(i: number, next: number): void {
    if (this.state[i] === next) return;
    if (this.state[i] === RUNNING) this.progress.delete(i);
    const base = this.kinds[i]! * NSTATES;
    this.counts[base + this.display(i)]!--;
    this.state[i] = next;
    this.counts[base + this.display(i)]!++;
    if (next === DONE) {
      for (let c = this.childStart[i]!; c < this.childStart[i + 1]!; c++) {
        const ch = this.children[c]!;
        const before = this.display(ch);
        this.pending[ch]!--;
        const after = this.display(ch);
        if (before !== after) {
          const cb = this.kinds[ch]! * NSTATES;
          this.counts[cb + before]!--;
          this.counts[cb + after]!++;
        }
      }
    }
  }

  private abandonRunning(): void {
    if (this.countsAllOf(D_RUNNING) === 0) return;
    for (let i = 0; i < this.total; i++) if (this.state[i] === RUNNING) this.set(i, WAITING);
  }

  private resetForResume(): void {
    if (
      this.countsAllOf(D_RUNNING) + this.countsAllOf(D_RETRYING) + this.countsAllOf(D_FAILED) ===
      0
    ) {
      return;
    }
    for (let i = 0; i < this.total; i++) {
      const s = this.state[i];
      if (s === RUNNING || s === RETRYING || s === FAILED) this.set(i, WAITING);
    }
  }

  private countsAllOf(d: number): number {
    let s = 0;
    for (let k = 0; k < PLANNED_JOB_KINDS.length; k++) s += this.counts[k * NSTATES + d]!;
    return s;
  }
}

export function emptyCounts(): StateCounts {
  return { unready: 0, ready: 0, running: 0, retrying: 0, done: 0, failed: 0 };
}

function addInto(into: StateCounts, row: StateCounts): void {
  for (const s of JOB_STATES) into[s] += row[s];
}

/**
 * The analyzer projection (pegasus-analyzer's job): a pure fold over journal events and
 * the plan that answers "why did it fail". It keeps, per job, only what a report needs —
 * the latest failed attempt's record and failure, a one-line summary of every failed
 * attempt — and delegates job states to the shared StatusFold so it agrees with status.
 *
 * A job is reported as failed when it is in state failed (job_failed), or when its latest
 * started attempt finished with a failure that was not a cancellation (it is retrying, or
 * the run stopped before the retry). Cancelled attempts (Ctrl-C, halt) are not failures.
 */
import type { AttemptFinished, JournalEvent } from '../journal/events.js';
import type { Failure, FailureKind } from '../../proto/attempt.js';
import type { Plan, PlannedJob, PlannedJobKind } from '../../proto/plan.js';
import {
  StatusFold,
  statusView,
  transformationOf,
  type JobState,
  type Liveness,
  type RunState,
} from '../status/index.js';
import { diagnose } from './diagnose.js';
import { shellJoin } from './shell-quote.js';

/** How many ids to list for "never ran" and "retried then succeeded". */
export const FIRST_FEW = 10;

export interface AttemptSummary {
  attempt: number;
  agent?: string;
  exitCode: number | null;
  signal: string | null;
  kind: FailureKind;
  message: string;
}

export interface FailedJob {
  job: string;
  kind: PlannedJobKind | 'unknown';
  transformation: string;
  /** Current state: failed (retries exhausted), retrying, or ready/unready (run stopped). */
  state: JobState;
  site?: string;
  agent?: string;
  host?: string;
  /** Attempts started. */
  attempts: number;
  /** Of which failed (not counting cancellations). */
  failedAttempts: number;
  /** Of the latest failed attempt. */
  attempt?: number;
  exitCode: number | null;
  signal: string | null;
  executor?: string;
  argv: string[];
  /** argv shell-quoted for display; aloft never runs it through a shell. */
  command: string;
  cwd?: string;
  start?: string;
  durationMs?: number;
  maxRssMb?: number;
  stderrTail: string;
  stdoutTail: string;
  missingFiles: string[];
  failure: Failure;
  cause: string;
  nextStep: string;
  history: AttemptSummary[];
}

export interface AnalysisView {
  workflow: string;
  runDir: string;
  state: RunState;
  detail?: string;
  summary: {
    total: number;
    succeeded: number;
    failed: number;
    /** Never started. */
    unsubmitted: number;
    running: number;
    retrying: number;
  };
  failedJobs: FailedJob[];
  /** Jobs not done with a failed ancestor: they never ran (again) because of it. */
  blocked: { count: number; first: string[] };
  retriedThenSucceeded: { count: number; first: string[] };
  /** Failed attempts over the whole run, by failure kind (cancellations included). */
  attemptFailures: Partial<Record<FailureKind, number>>;
}

interface Trail {
  attempts: number;
  lastStarted?: { attempt: number; agent: string; site: string; host: string };
  lastFailed?: AttemptFinished;
  /** The failure the engine gave (job_retry / job_failed) for the latest failed attempt. */
  lastFailure?: Failure;
  history: AttemptSummary[];
  succeeded: boolean;
}

export class AnalyzeFold {
  readonly status: StatusFold;
  private readonly jobs = new Map<string, PlannedJob>();
  private readonly trails = new Map<string, Trail>();
  private readonly attemptFailures: Partial<Record<FailureKind, number>> = {};

  constructor(private readonly plan: Plan) {
    this.status = new StatusFold(plan.jobs);
    for (const j of plan.jobs) this.jobs.set(j.id, j);
  }

  apply(e: JournalEvent): void {
    this.status.apply(e);
    switch (e.type) {
      case 'attempt_started': {
        const t = this.trail(e.job);
        t.attempts++;
        t.lastStarted = { attempt: e.attempt, agent: e.agent, site: e.site, host: e.host };
        return;
      }
      case 'attempt_finished': {
        if (e.ok) return;
        const t = this.trail(e.job);
        const kind = e.failure?.kind ?? 'application';
        this.attemptFailures[kind] = (this.attemptFailures[kind] ?? 0) + 1;
        if (kind === 'cancelled') return;
        t.lastFailed = e;
        t.lastFailure = e.failure;
        t.history.push({
          attempt: e.attempt,
          agent: e.record?.agent,
          exitCode: e.record?.exitCode ?? null,
          signal: e.record?.signal ?? null,
          kind,
          message: e.failure?.message ?? '',
        });
        return;
      }
      case 'job_retry':
      case 'job_failed': {
        if (e.failure.kind === 'cancelled') return;
        this.trail(e.job).lastFailure = e.failure;
        return;
      }
      case 'job_succeeded':
        this.trail(e.job).succeeded = true;
        return;
      default:
        return;
    }
  }

  view(o: { runDir: string; liveness: Liveness }): AnalysisView {
    const sv = statusView(this.status, {
      runDir: o.runDir,
      liveness: o.liveness,
      workflow: this.plan.workflow.name,
    });
    let unsubmitted = 0;
    const failedJobs: FailedJob[] = [];
    const retried: string[] = [];
    let retriedCount = 0;
    // Plan order, so the report is deterministic.
    for (const job of this.plan.jobs) {
      const t = this.trails.get(job.id);
      if (!t || t.attempts === 0) {
        if (this.status.stateOf(job.id) !== 'done') unsubmitted++;
        if (!t) continue;
      }
      if (t.succeeded) {
        if (t.history.length > 0) {
          retriedCount++;
          if (retried.length < FIRST_FEW) retried.push(job.id);
        }
        continue;
      }
      const state = this.status.stateOf(job.id) ?? 'unready';
      const latestFailed =
        t.lastFailed !== undefined &&
        (t.lastStarted === undefined || t.lastFailed.attempt >= t.lastStarted.attempt);
      if (state === 'failed' || (latestFailed && state !== 'running')) {
        failedJobs.push(this.failedJob(job, t, state));
      }
    }
    const blocked = this.status.blockedByFailure();
    const view: AnalysisView = {
      workflow: sv.workflow,
      runDir: o.runDir,
      state: sv.state,
      summary: {
        total: sv.total,
        succeeded: sv.counts.done,
        failed: sv.counts.failed,
        unsubmitted,
        running: sv.counts.running,
        retrying: sv.counts.retrying,
      },
      failedJobs,
      blocked: { count: blocked.length, first: blocked.slice(0, FIRST_FEW) },
      retriedThenSucceeded: { count: retriedCount, first: retried },
      attemptFailures: { ...this.attemptFailures },
    };
    if (sv.detail !== undefined) view.detail = sv.detail;
    return view;
  }

  private failedJob(job: PlannedJob, t: Trail, state: JobState): FailedJob {
    const e = t.lastFailed;
    const r = e?.record;
    const failure: Failure = t.lastFailure ??
      e?.failure ?? { kind: 'application', message: 'the job failed' };
    const transformation = transformationOf(job);
    const where = r ?? t.lastStarted;
    const { cause, nextStep } = diagnose({
      failure,
      record: r,
      job,
      transformation,
      agent: t.lastStarted?.agent,
      site: t.lastStarted?.site,
    });
    const argv = r?.argv ?? [];
    const out: FailedJob = {
      job: job.id,
      kind: job.kind,
      transformation,
      state,
      attempts: t.attempts,
      failedAttempts: t.history.length,
      exitCode: r?.exitCode ?? null,
      signal: r?.signal ?? null,
      argv,
      command: shellJoin(argv),
      stderrTail: r?.stderrTail ?? '',
      stdoutTail: r?.stdoutTail ?? '',
      missingFiles: failure.missingFiles ?? e?.failure?.missingFiles ?? [],
      failure,
      cause,
      nextStep,
      history: t.history,
    };
    if (where) {
      out.site = where.site;
      out.agent = where.agent;
      out.host = where.host;
    }
    if (e) out.attempt = e.attempt;
    if (r) {
      out.executor = r.executor;
      out.cwd = r.cwd;
      out.start = r.start;
      out.durationMs = r.durationMs;
      out.maxRssMb = Math.round((r.maxRssKb / 1024) * 10) / 10;
    }
    return out;
  }

  private trail(id: string): Trail {
    let t = this.trails.get(id);
    if (!t) {
      t = { attempts: 0, history: [], succeeded: false };
      this.trails.set(id, t);
    }
    return t;
  }
}

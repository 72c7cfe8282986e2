/**
 * The control API's views of a workflow: its status (from the scheduler while it holds the
 * workflow, else from the run directory's journal) and its analysis (the RUNDIR analyzer
 * on the run directory, plus the idle jobs the scheduler cannot place).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AloftError } from '../../lib/errors/index.js';
import type {
  AnalyzeReply,
  FailedJobView,
  IdleJobView,
  WorkflowState,
  WorkflowStatus,
} from '../../proto/codec/index.js';
import { AnalyzeFold, type FailedJob } from '../analyzer/index.js';
import type { Scheduler, WorkflowStatus as SchedulerStatus } from '../scheduler/index.js';
import { StatusFold, openRunDir, statusView, type RunState } from '../status/index.js';

/** Workflow ids name run directories: nothing that could leave `runs/`. */
const WORKFLOW_ID = /^[A-Za-z0-9_-]{1,200}$/;

export function checkWorkflowId(id: string): void {
  if (!WORKFLOW_ID.test(id)) {
    throw AloftError.invalid({
      where: `workflow ${JSON.stringify(id)}`,
      message: 'is not a workflow id',
      hint: 'use the id `aloft submit` printed (letters, digits, _ and -)',
    });
  }
}

/** The scheduler's workflow, or undefined when it does not hold it (ended before a restart). */
export function held(scheduler: Scheduler, id: string): SchedulerStatus | undefined {
  try {
    return scheduler.status(id);
  } catch (e) {
    if (e instanceof AloftError && e.code === 'NOT_FOUND') return undefined;
    throw e;
  }
}

function wireState(s: SchedulerStatus['state'] | RunState): WorkflowState {
  // 'interrupted': ended without finishing — by Remove (the only way the scheduler ends a
  // workflow early) or a run directory that ended so before this scheduler started.
  return s === 'interrupted' ? 'removed' : s;
}

function fromScheduler(s: SchedulerStatus): WorkflowStatus {
  const c = s.counts;
  return {
    workflowId: s.id,
    name: s.name,
    state: wireState(s.state),
    total: c.unready + c.ready + c.running + c.done + c.failed,
    counts: {
      unready: c.unready,
      ready: c.ready,
      running: c.running,
      retrying: 0,
      done: c.done,
      failed: c.failed,
    },
    updatedAt: new Date().toISOString(),
    ...(s.retries > 0 ? { detail: `${s.retries} retries so far` } : {}),
    ...(s.transfers.length > 0 ? { transfers: s.transfers.map((t) => ({ ...t })) } : {}),
  };
}

function runDirOf(dataDir: string, id: string): string {
  const dir = path.join(path.resolve(dataDir), 'runs', id);
  if (!existsSync(dir)) {
    throw new AloftError('NOT_FOUND', `no workflow '${id}' in this scheduler`, {
      retryable: false,
      problems: [
        {
          where: `workflow ${id}`,
          message: 'not known to this scheduler',
          hint: 'check the id `aloft submit` printed',
        },
      ],
    });
  }
  return dir;
}

/** Status of a workflow the scheduler holds, else of its run directory's journal. */
export async function workflowStatus(
  scheduler: Scheduler,
  dataDir: string,
  id: string,
  signal?: AbortSignal,
): Promise<WorkflowStatus> {
  checkWorkflowId(id);
  const s = held(scheduler, id);
  if (s) return fromScheduler(s);
  const run = await openRunDir(runDirOf(dataDir, id), { command: 'status', signal });
  const fold = new StatusFold(run.plan.jobs);
  await run.journal.readLite((e) => fold.apply(e), { final: true, ...(signal ? { signal } : {}) });
  const view = statusView(fold, {
    runDir: id,
    liveness: { live: false, detail: 'not held by the scheduler' },
    workflow: run.plan.workflow.name,
  });
  return {
    workflowId: id,
    name: view.workflow,
    state: wireState(view.state),
    total: view.total,
    counts: { ...view.counts },
    updatedAt: view.lastEvent ?? new Date().toISOString(),
    ...(view.detail !== undefined ? { detail: view.detail } : {}),
    ...(view.transfers && view.transfers.length > 0
      ? {
          transfers: view.transfers.map(({ ts: _journaled, ...t }) => t),
        }
      : {}),
  };
}

function failedJobView(f: FailedJob): FailedJobView {
  return { ...f, kind: f.kind, state: f.state };
}

/** The RUNDIR analysis of the workflow's run directory plus its unplaceable ready jobs. */
export async function analyzeWorkflow(
  scheduler: Scheduler,
  dataDir: string,
  id: string,
  signal?: AbortSignal,
): Promise<AnalyzeReply> {
  checkWorkflowId(id);
  const s = held(scheduler, id);
  const dir = s ? s.runDir : runDirOf(dataDir, id);
  const run = await openRunDir(dir, { command: 'analyze', signal });
  const fold = new AnalyzeFold(run.plan);
  const live = s !== undefined && (s.state === 'running' || s.state === 'halted');
  await run.journal.read((e) => fold.apply(e), { final: !live, ...(signal ? { signal } : {}) });
  const view = fold.view({
    runDir: id,
    liveness: { live, detail: live ? 'held by the scheduler' : 'not running' },
  });
  const idleJobs: IdleJobView[] = live
    ? scheduler.analyzeIdle(id).map((i) => ({
        job: i.job,
        summary: i.explanation.summary,
        requirements: i.explanation.clauses.map((c) => ({
          requirement: c.requirement,
          matching: c.matching,
        })),
      }))
    : [];
  const state: WorkflowState = s ? wireState(s.state) : wireState(view.state);
  return {
    workflowId: id,
    name: view.workflow,
    state,
    ...(view.detail !== undefined ? { detail: view.detail } : {}),
    summary: view.summary,
    failedJobs: view.failedJobs.map(failedJobView),
    idleJobs,
    lostAttempts: [],
    blocked: view.blocked,
    retriedThenSucceeded: view.retriedThenSucceeded,
    attemptFailures: view.attemptFailures,
  };
}

/**
 * Builders for the projection tests (status, analyze, stats): planned jobs, journal events
 * with seq/ts assigned the way the journal does, invocation records, and run directories
 * written to disk (plan.json + journal.jsonl). These construct contract data (the real
 * types), they do not stand in for any component.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Failure, InvocationRecord } from '../../proto/attempt.js';
import type { Plan, PlannedJob, PlannedJobKind } from '../../proto/plan.js';
import { plannedJob, planOf } from './plans.js';
import { openJournal, type JournalEvent, type NewEvent } from '../../services/journal/index.js';

export function job(
  id: string,
  parents: string[] = [],
  o: Partial<PlannedJob> & { kind?: PlannedJobKind } = {},
): PlannedJob {
  return plannedJob(id, parents, {
    executable: {
      name: id.replace(/[-_]?\d+$/, '') || id,
      pfn: `/usr/bin/${id}`,
      type: 'installed',
    },
    args: [],
    ...o,
  });
}

export function plan(jobs: PlannedJob[], name = 'wf'): Plan {
  return planOf(jobs, name);
}

export function record(
  jobId: string,
  attempt: number,
  o: Partial<InvocationRecord> = {},
): InvocationRecord {
  return {
    job: jobId,
    attempt,
    agent: 'local',
    site: 'local',
    host: 'testhost',
    user: 'tester',
    executor: 'process',
    argv: [`/usr/bin/${jobId}`],
    cwd: `/tmp/scratch/${jobId}.${attempt}`,
    start: '2024-01-01T00:00:00.000Z',
    durationMs: 1000,
    exitCode: 0,
    signal: null,
    utimeMs: 100,
    stimeMs: 50,
    maxRssKb: 2048,
    stdoutTail: '',
    stderrTail: '',
    stdoutBytes: 0,
    stderrBytes: 0,
    files: [],
    transfers: [],
    ...o,
  };
}

/** Assigns seq and ts (one second apart from `t0`, or explicit via `at`). */
export class EventLog {
  readonly events: JournalEvent[] = [];
  private seq = 0;
  private clock: number;

  constructor(t0 = Date.parse('2024-01-01T00:00:00.000Z')) {
    this.clock = t0;
  }

  add(e: NewEvent, o: { after?: number } = {}): this {
    this.clock += o.after ?? 1000;
    this.seq++;
    this.events.push({
      ...e,
      seq: this.seq,
      ts: new Date(this.clock).toISOString(),
    } as JournalEvent);
    return this;
  }

  start(resumed = false, jobs = 0, workflow = 'wf'): this {
    return this.add({
      type: 'run_started',
      runId: 'run-1',
      workflow,
      planDigest: 'sha256:x',
      jobs,
      resumed,
    });
  }

  finish(state: 'succeeded' | 'failed' | 'interrupted'): this {
    return this.add({ type: 'run_finished', state });
  }

  started(jobId: string, attempt = 1, kind: PlannedJobKind = 'compute', agent = 'local'): this {
    return this.add({
      type: 'attempt_started',
      job: jobId,
      kind,
      attempt,
      epoch: 1,
      agent,
      site: 'local',
      host: 'testhost',
    });
  }

  /** attempt_finished ok + job_succeeded. */
  succeed(jobId: string, attempt = 1, rec: Partial<InvocationRecord> = {}): this {
    this.add({
      type: 'attempt_finished',
      job: jobId,
      attempt,
      epoch: 1,
      ok: true,
      record: record(jobId, attempt, rec),
    });
    return this.add({ type: 'job_succeeded', job: jobId, attempt }, { after: 0 });
  }

  /** attempt_finished failed, then job_retry (retry=true) or job_failed, or nothing. */
  fail(
    jobId: string,
    attempt: number,
    failure: Failure,
    rec: Partial<InvocationRecord> = {},
    then: 'retry' | 'failed' | 'none' = 'failed',
  ): this {
    this.add({
      type: 'attempt_finished',
      job: jobId,
      attempt,
      epoch: 1,
      ok: false,
      record: record(jobId, attempt, { exitCode: 1, ...rec }),
      failure,
    });
    if (then === 'retry') {
      this.add(
        { type: 'job_retry', job: jobId, nextAttempt: attempt + 1, delayMs: 10, failure },
        { after: 0 },
      );
    } else if (then === 'failed') {
      this.add({ type: 'job_failed', job: jobId, attempts: attempt, failure }, { after: 0 });
    }
    return this;
  }
}

/** Write a run directory: plan.json and journal.jsonl (+ optional raw tail bytes). */
export async function writeRunDir(
  dir: string,
  p: Plan,
  events: JournalEvent[],
  o: { tail?: string } = {},
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'plan.json'), JSON.stringify(p));
  const body = events.map((e) => JSON.stringify(e) + '\n').join('') + (o.tail ?? '');
  await writeFile(path.join(dir, 'journal.jsonl'), body);
  return dir;
}

/**
 * Write a run directory through the real journal module: plan.json, then every event
 * appended (and fsync'd) by `openJournal`, keeping each event's `ts`. The journal assigns
 * seq itself, exactly as in a real run.
 */
export async function writeRunDirViaJournal(
  dir: string,
  p: Plan,
  events: JournalEvent[],
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'plan.json'), JSON.stringify(p) + '\n');
  let next = 0;
  const journal = await openJournal(dir, {
    now: () => new Date(events[next]?.ts ?? Date.now()),
  });
  for (; next < events.length; next++) {
    const { seq: _seq, ts: _ts, ...e } = events[next]!;
    await journal.append(e as NewEvent);
  }
  await journal.close();
  return dir;
}

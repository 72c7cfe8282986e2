/**
 * The status fold on a generated 100k-job journal (DESIGN §7: "cheap at 100k jobs"):
 * correct counts against a naive recomputation, and the time it takes printed for the
 * record (not asserted: tests do not assert wall-clock times).
 */
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlannedJob, PlannedJobKind } from '../../proto/plan.js';
import { openJournal, type JournalEvent, type NewEvent } from '../journal/index.js';
import { job, plan, record } from '../../test/helpers/run-fixtures.js';
import { JournalTail, StatusFold, openRunDir, statusView, type JobState } from './index.js';

const N = 100_000;
const WIDTH = 100; // job i depends on job i - WIDTH: 100 chains of 1000
const FAILED = new Set([5_000, 40_321, 77_777]); // retries exhausted: their chains stop
const RUNNING_FROM = 98_500; // [RUNNING_FROM, RUNNING_TO) are running
const RUNNING_TO = 98_900; // then done up to NOT_STARTED_FROM: its children are ready
const NOT_STARTED_FROM = 99_000;

let dir: string;
let jobs: PlannedJob[];
const truth = new Map<string, 'done' | 'failed' | 'running' | 'none'>();

function kindOf(i: number): PlannedJobKind {
  return i % 20 === 0 ? 'stage_in' : i % 20 === 1 ? 'stage_out' : 'compute';
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aloft-100k-'));
  jobs = [];
  for (let i = 0; i < N; i++) {
    jobs.push(job(`job_${i}`, i >= WIDTH ? [`job_${i - WIDTH}`] : [], { kind: kindOf(i) }));
  }
  const p = plan(jobs, 'big');
  await writeFile(path.join(dir, 'plan.json'), JSON.stringify(p));

  // Written through the real journal (group commit), so the layout is the engine's.
  let clock = Date.parse('2024-01-01T00:00:00Z');
  const journal = await openJournal(dir, { retain: false, now: () => new Date((clock += 10)) });
  const appends: Promise<unknown>[] = [];
  const emit = (e: NewEvent): void => {
    appends.push(journal.append(e));
  };
  const flush = async (): Promise<void> => {
    await Promise.all(appends.splice(0));
  };
  emit({
    type: 'run_started',
    runId: 'r',
    workflow: 'big',
    planDigest: 'x',
    jobs: N,
    resumed: false,
  });
  const blocked = new Set<number>();
  for (let i = 0; i < N; i++) {
    const id = `job_${i}`;
    if (i >= NOT_STARTED_FROM || blocked.has(i - WIDTH)) {
      if (blocked.has(i - WIDTH)) blocked.add(i);
      truth.set(id, 'none');
      continue;
    }
    const base = { job: id, kind: kindOf(i), epoch: 1, agent: 'a1', site: 'local', host: 'h' };
    const rec = (attempt: number, exitCode: number) =>
      record(id, attempt, {
        argv: [`/usr/bin/tool`, '-i', `in_${i}.dat`, '-o', `out_${i}.dat`, '--threads', '1'],
        exitCode,
        stdoutTail: `processed ${i} records\n`.repeat(5),
        stderrTail: exitCode === 0 ? '' : `error: cannot open in_${i}.dat\n`,
        files: [
          { lfn: `in_${i}.dat`, link: 'input', size: 1000 },
          { lfn: `out_${i}.dat`, link: 'output', size: 2000, sha256: 'ab'.repeat(32) },
        ],
      });
    const failure = { kind: 'application' as const, message: 'exited with code 1' };
    emit({ type: 'attempt_started', ...base, attempt: 1 });
    if (i >= RUNNING_FROM && i < RUNNING_TO) {
      truth.set(id, 'running');
    } else if (FAILED.has(i)) {
      emit({
        type: 'attempt_finished',
        job: id,
        attempt: 1,
        epoch: 1,
        ok: false,
        record: rec(1, 1),
        failure,
      });
      emit({ type: 'job_failed', job: id, attempts: 1, failure });
      blocked.add(i);
      truth.set(id, 'failed');
    } else {
      let attempt = 1;
      if (i % 97 === 0) {
        emit({
          type: 'attempt_finished',
          job: id,
          attempt,
          epoch: 1,
          ok: false,
          record: rec(1, 1),
          failure,
        });
        emit({ type: 'job_retry', job: id, nextAttempt: 2, delayMs: 1000, failure });
        attempt = 2;
        emit({ type: 'attempt_started', ...base, attempt });
      }
      emit({
        type: 'attempt_finished',
        job: id,
        attempt,
        epoch: 1,
        ok: true,
        record: rec(attempt, 0),
      });
      emit({ type: 'job_succeeded', job: id, attempt });
      truth.set(id, 'done');
    }
    if (appends.length > 5000) await flush();
  }
  await flush();
  await journal.close();
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Expected display state, recomputed naively from the generated truth. */
function expected(j: PlannedJob): JobState {
  const t = truth.get(j.id)!;
  if (t !== 'none') return t;
  return j.parents.every((p) => truth.get(p) === 'done') ? 'ready' : 'unready';
}

describe('status at 100k jobs', () => {
  it('folds a 100k-job journal into the right counts, fully parsed and lite', async () => {
    const size = (await stat(path.join(dir, 'journal.jsonl'))).size;
    const t0 = performance.now();
    const run = await openRunDir(dir, { command: 'status' });
    const t1 = performance.now();
    const fold = new StatusFold(run.plan.jobs);
    const t2 = performance.now();
    await run.journal.readLite((e) => fold.apply(e), { final: true });
    const t3 = performance.now();
    const full = new StatusFold(run.plan.jobs);
    const tail = new JournalTail(run.journal.file);
    await tail.read((e) => full.apply(e), { final: true });
    const t4 = performance.now();
    const view = statusView(fold, { runDir: dir, liveness: { live: true, detail: 'test' } });
    console.log(
      `status 100k: journal ${(size / 1e6).toFixed(1)} MB, ${run.journal.records} events ` +
        `(${run.journal.liteRecords} lite); plan load ${(t1 - t0).toFixed(0)} ms, ` +
        `fold build ${(t2 - t1).toFixed(0)} ms, lite read+fold ${(t3 - t2).toFixed(0)} ms, ` +
        `full-parse read+fold ${(t4 - t3).toFixed(0)} ms`,
    );
    // The real journal's layout takes the lite path for (nearly) every attempt_finished.
    expect(run.journal.liteRecords).toBeGreaterThan(N * 0.9);
    expect(tail.records).toBe(run.journal.records);
    expect(full.countsAll()).toEqual(fold.countsAll());
    expect(full.run).toEqual(fold.run);

    const want = { unready: 0, ready: 0, running: 0, retrying: 0, done: 0, failed: 0 };
    for (const j of jobs) want[expected(j)]++;
    expect(view.counts).toEqual(want);
    expect(view.total).toBe(N);
    expect(want.failed).toBe(FAILED.size);
    // Running: the window minus the chains cut short by a failure.
    expect(want.running).toBe(RUNNING_TO - RUNNING_FROM - 4 * FAILED.size);
    expect(want.ready).toBeGreaterThan(0);
    expect(want.unready).toBeGreaterThan(0);
    for (const k of ['compute', 'stage_in', 'stage_out'] as const) {
      const row = view.byKind[k]!;
      const wantRow = jobs.filter((j) => j.kind === k).map(expected);
      expect(row.total).toBe(wantRow.length);
      expect(row.done).toBe(wantRow.filter((s) => s === 'done').length);
      expect(row.unready).toBe(wantRow.filter((s) => s === 'unready').length);
    }
    for (const id of ['job_5000', 'job_5100', 'job_98600', 'job_99000', 'job_99100', 'job_97']) {
      expect(fold.stateOf(id)).toBe(expected(jobs[Number(id.slice(4))]!));
    }
    // Blocked: every later job of a failed job's chain.
    const blocked = [...FAILED].reduce((s, f) => s + Math.floor((N - 1 - f) / WIDTH), 0);
    expect(fold.blockedByFailure().length).toBe(blocked);
  });

  it('an incremental fold over appended halves equals the one-shot fold', async () => {
    const text = await readFile(path.join(dir, 'journal.jsonl'), 'utf8');
    const cut = text.indexOf('\n', Math.floor(text.length / 2)) + 1;
    const file = path.join(dir, 'half.jsonl');
    await writeFile(file, text.slice(0, cut + 17)); // ends with a torn line
    const tail = new JournalTail(file);
    const fold = new StatusFold(jobs);
    const apply = (e: JournalEvent): void => fold.apply(e);
    await tail.read(apply);
    const mid = fold.countsAll();
    await appendFile(file, text.slice(cut + 17));
    await tail.read(apply);
    const want = { unready: 0, ready: 0, running: 0, retrying: 0, done: 0, failed: 0 };
    for (const j of jobs) want[expected(j)]++;
    expect(fold.countsAll()).toEqual(want);
    expect(mid.done).toBeLessThan(want.done);
    expect(tail.badLines).toBe(0);
  });
});

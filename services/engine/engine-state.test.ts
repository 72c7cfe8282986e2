import { describe, expect, it } from 'vitest';
import type { AttemptOutcome, Failure, InvocationRecord } from '../../proto/attempt.js';
import type { NewEvent } from '../journal/index.js';
import { EngineState, type Dispatch } from './engine-state.js';
import { plannedJob as job } from '../../test/helpers/plans.js';

function record(jobId: string, attempt: number): InvocationRecord {
  return {
    job: jobId,
    attempt,
    agent: 'a1',
    site: 'local',
    host: 'h',
    user: 'u',
    executor: 'process',
    argv: ['/bin/true'],
    cwd: '/',
    start: new Date(0).toISOString(),
    durationMs: 1,
    exitCode: 0,
    signal: null,
    utimeMs: 0,
    stimeMs: 0,
    maxRssKb: 0,
    stdoutTail: '',
    stderrTail: '',
    stdoutBytes: 0,
    stderrBytes: 0,
    files: [],
    transfers: [],
  };
}

const ok = (d: Dispatch): AttemptOutcome => ({
  ok: true,
  record: record(d.key.job, d.key.attempt),
});
const bad = (d: Dispatch, kind: Failure['kind'] = 'application'): AttemptOutcome => ({
  ok: false,
  record: { ...record(d.key.job, d.key.attempt), exitCode: 1 },
  failure: { kind, message: `failed (${kind})` },
});

/** A tiny driver: journal = array; every decision is applied as the real driver does. */
class Harness {
  readonly journal: NewEvent[] = [];
  constructor(readonly s: EngineState) {}
  emit(e: NewEvent): void {
    this.journal.push(e);
    this.s.apply(e);
  }
  start(): Dispatch {
    const d = this.s.take();
    if (!d) throw new Error('nothing to take');
    this.emit(this.s.accepted(d.key, { agent: 'a1', site: 'local', host: 'h' })!);
    return d;
  }
  finish(d: Dispatch, outcome: AttemptOutcome): NewEvent[] {
    const v = this.s.decideResult(d.key, outcome);
    if (v.kind !== 'accept') throw new Error(`not accepted: ${v.kind}`);
    for (const e of v.events) this.emit(e);
    return v.events;
  }
  /** Run everything takeable to the end, failing the jobs in `failing`. */
  drain(failing: Set<string> = new Set()): string[] {
    const order: string[] = [];
    for (;;) {
      for (const j of this.s.retrying()) this.s.wake(j);
      const d = this.s.take();
      if (!d) break;
      this.emit(this.s.accepted(d.key, { agent: 'a1', site: 'local', host: 'h' })!);
      order.push(`${d.key.job}#${d.key.attempt}`);
      this.finish(d, failing.has(d.key.job) ? bad(d) : ok(d));
    }
    return order;
  }
}

describe('engine state', () => {
  it('orders the ready queue by priority, then plan order', () => {
    const s = new EngineState([
      job('a', [], { priority: 1 }),
      job('b', [], { priority: 5 }),
      job('c', [], { priority: 1 }),
      job('d', [], { priority: 5 }),
    ]);
    const taken: string[] = [];
    for (let d = s.take(); d; d = s.take()) taken.push(d.job.id);
    expect(taken).toEqual(['b', 'd', 'a', 'c']);
    expect(s.counts()).toEqual({ unready: 0, ready: 0, running: 4, done: 0, failed: 0 });
  });

  it('releases children only when every parent is done (diamond)', () => {
    const h = new Harness(
      new EngineState([
        job('top'),
        job('left', ['top']),
        job('right', ['top']),
        job('bottom', ['left', 'right']),
      ]),
    );
    expect(h.s.counts()).toEqual({ unready: 3, ready: 1, running: 0, done: 0, failed: 0 });
    const top = h.start();
    expect(h.s.take()).toBeUndefined();
    h.finish(top, ok(top));
    const left = h.start();
    const right = h.start();
    h.finish(left, ok(left));
    expect(h.s.take()).toBeUndefined();
    h.finish(right, ok(right));
    const bottom = h.start();
    expect(bottom.job.id).toBe('bottom');
    h.finish(bottom, ok(bottom));
    expect(h.s.settled()).toBe(true);
    expect(h.s.outcome()).toBe('succeeded');
  });

  it('throttles per category and lets the held jobs go as slots free up', () => {
    const s = new EngineState(
      [
        job('x1', [], { category: 'io' }),
        job('x2', [], { category: 'io' }),
        job('x3', [], { category: 'io' }),
        job('y1'),
      ],
      { categoryLimits: { io: 2 } },
    );
    const h = new Harness(s);
    const a = h.start();
    const b = h.start();
    const c = h.start();
    expect([a.job.id, b.job.id, c.job.id]).toEqual(['x1', 'x2', 'y1']);
    expect(s.take()).toBeUndefined();
    h.finish(a, ok(a));
    expect(h.start().job.id).toBe('x3');
  });

  it('spends retries on application failures; a job out of retries fails, its descendants never start, independent work finishes', () => {
    const s = new EngineState(
      [
        job('bad', [], { retries: 2 }),
        job('child', ['bad']),
        job('grandchild', ['child']),
        job('other'),
      ],
      { retryDelay: (n) => n * 100 },
    );
    const h = new Harness(s);
    const order = h.drain(new Set(['bad']));
    expect(order).toEqual(['bad#1', 'bad#2', 'bad#3', 'other#1']);
    const decisions = h.journal.filter((e) => e.type === 'job_retry' || e.type === 'job_failed');
    expect(decisions).toMatchObject([
      { type: 'job_retry', job: 'bad', nextAttempt: 2, delayMs: 100 },
      { type: 'job_retry', job: 'bad', nextAttempt: 3, delayMs: 200 },
      { type: 'job_failed', job: 'bad', attempts: 3 },
    ]);
    expect(s.settled()).toBe(true);
    expect(s.outcome()).toBe('failed');
    expect(s.counts()).toEqual({ unready: 2, ready: 0, running: 0, done: 1, failed: 1 });
    expect(h.journal.some((e) => e.type === 'attempt_started' && e.job === 'child')).toBe(false);
  });

  it('does not spend retries on infrastructure failures up to the cap, nor ever on cancellations', () => {
    const s = new EngineState([job('j', [], { retries: 0 })], { maxInfrastructureFailures: 2 });
    const h = new Harness(s);
    for (let i = 0; i < 4; i++) {
      const d = h.start();
      h.finish(d, bad(d, 'cancelled'));
      s.wake('j');
    }
    for (let i = 0; i < 2; i++) {
      const d = h.start();
      expect(h.finish(d, bad(d, 'infrastructure'))[1]).toMatchObject({ type: 'job_retry' });
      s.wake('j');
    }
    const d = h.start();
    expect(d.key.attempt).toBe(7);
    expect(h.finish(d, bad(d, 'infrastructure'))[1]).toMatchObject({
      type: 'job_failed',
      attempts: 7,
    });
  });

  it('fences results: stale keys, duplicates of finished attempts, results before acceptance', () => {
    const s = new EngineState([job('j', [], { retries: 1 })]);
    const h = new Harness(s);
    const d = s.take()!;
    expect(s.decideResult(d.key, ok(d))).toEqual({ kind: 'early' });
    h.emit(s.accepted(d.key, { agent: 'a1', site: 'local', host: 'h' })!);
    expect(s.decideResult({ ...d.key, epoch: d.key.epoch + 7 }, ok(d)).kind).toBe('stale');
    expect(s.decideResult({ ...d.key, attempt: 9 }, ok(d)).kind).toBe('stale');
    expect(s.decideResult({ job: 'nope', attempt: 1, epoch: 1 }, ok(d)).kind).toBe('stale');
    h.finish(d, bad(d));
    expect(s.decideResult(d.key, bad(d))).toEqual({ kind: 'duplicate' });
    expect(s.decideResult(d.key, ok(d))).toEqual({ kind: 'duplicate' });
    s.wake('j');
    const d2 = h.start();
    expect(d2.key.attempt).toBe(2);
    expect(d2.key.epoch).toBeGreaterThan(d.key.epoch);
    h.finish(d2, ok(d2));
    expect(s.decideResult(d2.key, ok(d2))).toEqual({ kind: 'duplicate' });
    expect(s.counts().done).toBe(1);
  });

  it('take skips jobs canPlace refuses and stops scanning on stop, keeping them all ready', () => {
    const s = new EngineState([
      job('a', [], { site: 'x' }),
      job('b', [], { site: 'y' }),
      job('c', [], { site: 'y' }),
    ]);
    expect(s.take((j) => j.site === 'y')?.job.id).toBe('b');
    let asked = 0;
    expect(
      s.take(() => {
        asked++;
        return 'stop';
      }),
    ).toBeUndefined();
    expect(asked).toBe(1);
    expect(s.counts().ready).toBe(2);
    expect([s.take()?.job.id, s.take()?.job.id]).toEqual(['a', 'c']);
  });

  it('a rejected offer returns the job to ready with the same attempt number and a new epoch', () => {
    const s = new EngineState([job('j')]);
    const d = s.take()!;
    expect(s.release(d.key)).toBe(true);
    expect(s.counts().ready).toBe(1);
    const d2 = s.take()!;
    expect(d2.key.attempt).toBe(d.key.attempt);
    expect(d2.key.epoch).toBeGreaterThan(d.key.epoch);
    expect(s.accepted(d.key, { agent: 'a', site: 'local', host: 'h' })).toBeUndefined();
  });

  it('rebuilds the same state from its journal, and resume closes what was left open', () => {
    const jobs = [
      job('done1'),
      job('running1'),
      job('failed1', [], { retries: 1 }),
      job('after-failed', ['failed1']),
      job('after-done', ['done1']),
    ];
    const live = new EngineState(jobs);
    const h = new Harness(live);
    const d1 = h.start();
    h.finish(d1, ok(d1));
    const r1 = h.start(); // running1, never finishes: the process "dies"
    expect(r1.job.id).toBe('running1');
    const f1 = h.start();
    h.finish(f1, bad(f1));
    live.wake('failed1');
    const f2 = h.start();
    h.finish(f2, bad(f2));
    expect(live.stateOf('failed1')).toBe('failed');

    const replayed = new EngineState(jobs);
    for (const e of h.journal) replayed.apply(e);
    expect(replayed.counts()).toEqual(live.counts());
    expect(replayed.stateOf('running1')).toBe('running');
    expect(replayed.running().map((r) => r.key)).toEqual([r1.key]);

    const events = replayed.resume('2024-01-01T00:00:00.000Z');
    expect(events).toMatchObject([
      {
        type: 'attempt_finished',
        job: 'running1',
        attempt: 1,
        ok: false,
        failure: { kind: 'cancelled' },
      },
      { type: 'job_retry', job: 'running1', nextAttempt: 2, resume: true },
      { type: 'job_retry', job: 'failed1', nextAttempt: 3, resume: true },
    ]);
    const h2 = new Harness(replayed);
    for (const e of events) h2.emit(e);
    const order = h2.drain(new Set(['failed1']));
    // done1 never again; failed1 gets a fresh set of retries (2 more attempts); after-done runs.
    expect(order.sort()).toEqual(['after-done#1', 'failed1#3', 'failed1#4', 'running1#2']);
    expect(replayed.stateOf('done1')).toBe('done');
    expect(replayed.outcome()).toBe('failed');
  });

  it('decides a finished attempt whose decision was lost in a crash', () => {
    const jobs = [job('j')];
    const s = new EngineState(jobs);
    const h = new Harness(s);
    const d = h.start();
    const v = s.decideResult(d.key, ok(d));
    if (v.kind !== 'accept') throw new Error('expected accept');
    const replayed = new EngineState(jobs);
    for (const e of [...h.journal, v.events[0]!]) replayed.apply(e);
    expect(replayed.resume('now')).toEqual([{ type: 'job_succeeded', job: 'j', attempt: 1 }]);
  });
});

describe('engine state: readyJobs stays in dispatch order', () => {
  /** mulberry32: a fixed-seed generator, so a failure reproduces. */
  function prng(seed: number): () => number {
    let s = seed;
    return () => {
      s = (s + 0x6d2b79f5) | 0;
      let x = Math.imul(s ^ (s >>> 15), 1 | s);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
  }

  it.each([1, 7, 42, 1234, 99_991])(
    'matches a brute-force sort after interleaved takes, releases, completions and retries (seed %i)',
    (seed) => {
      const rand = prng(seed);
      const int = (n: number): number => Math.floor(rand() * n);
      const jobs = Array.from({ length: 80 }, (_, i) => {
        const parents = new Set<string>();
        for (let k = int(3); k > 0 && i > 0; k--) parents.add(`j${int(i)}`);
        return job(`j${i}`, [...parents], {
          priority: [0, 0, 1, 3, 10][int(5)]!,
          retries: int(3),
          ...(int(4) === 0 ? { category: 'io' } : {}),
        });
      });
      const index = new Map(jobs.map((j, i) => [j.id, i]));
      const s = new EngineState(jobs, { categoryLimits: { io: 2 } });
      const h = new Harness(s);
      const brute = (): string[] =>
        jobs
          .filter((j) => s.stateOf(j.id) === 'ready')
          .sort((a, b) => b.priority - a.priority || index.get(a.id)! - index.get(b.id)!)
          .map((j) => j.id);
      const offered: Dispatch[] = [];
      const running: Dispatch[] = [];
      const takeAt = <T>(xs: T[]): T => xs.splice(int(xs.length), 1)[0]!;
      const ops = { take: 0, release: 0, ok: 0, retry: 0, wake: 0, compared: 0 };
      const check = (): void => {
        expect(s.readyJobs().map((j) => j.id)).toEqual(brute());
        ops.compared++;
      };

      for (let step = 0; step < 4000 && !s.settled(); step++) {
        const op = int(8);
        if (op === 0 || op === 1) {
          // A placement takes a job it matched, anywhere in the list (throttles may refuse).
          const ready = brute();
          const d = ready.length > 0 ? s.takeJob(ready[int(ready.length)]!) : undefined;
          if (d) {
            offered.push(d);
            ops.take++;
          }
        } else if (op === 2) {
          const d = s.take();
          if (d) {
            offered.push(d);
            ops.take++;
          }
        } else if (op === 3 && offered.length > 0) {
          // The offer was rejected: ready again, in its old place.
          expect(s.release(takeAt(offered).key)).toBe(true);
          ops.release++;
        } else if (op === 4 && offered.length > 0) {
          const d = takeAt(offered);
          h.emit(s.accepted(d.key, { agent: 'a1', site: 'local', host: 'h' })!);
          running.push(d);
        } else if (op === 5 && running.length > 0) {
          // A success makes children ready.
          const d = takeAt(running);
          h.finish(d, ok(d));
          ops.ok++;
        } else if (op === 6 && running.length > 0) {
          const d = takeAt(running);
          const kind = (['application', 'infrastructure', 'cancelled'] as const)[int(3)]!;
          h.finish(d, bad(d, kind));
          ops.retry++;
        } else if (op === 7) {
          // Retry delays run out.
          const waiting = s.retrying();
          if (waiting.length > 0) {
            expect(s.wake(waiting[int(waiting.length)]!)).toBe(true);
            ops.wake++;
          }
        }
        // Several changes between two calls as often as one.
        if (rand() < 0.4) check();
      }
      check();
      // Finish the run the plain way, still checking.
      for (let guard = 0; !s.settled() && guard < 10_000; guard++) {
        for (const j of s.retrying()) s.wake(j);
        for (const d of offered.splice(0)) s.release(d.key);
        for (const d of running.splice(0)) h.finish(d, ok(d));
        check();
        const d = s.take();
        if (!d) continue;
        h.emit(s.accepted(d.key, { agent: 'a1', site: 'local', host: 'h' })!);
        running.push(d);
      }
      check();
      expect(s.settled()).toBe(true);
      expect(s.readyJobs()).toEqual([]);
      // The sequence did exercise every transition.
      for (const n of Object.values(ops)) expect(n).toBeGreaterThan(10);
    },
  );

  it('lists a job released before the list was asked for again once, in its place', () => {
    const s = new EngineState([
      job('a', [], { priority: 1 }),
      job('b', [], { priority: 5 }),
      job('c', [], { priority: 1 }),
    ]);
    expect(s.readyJobs().map((j) => j.id)).toEqual(['b', 'a', 'c']);
    const d = s.takeJob('b')!;
    s.release(d.key);
    const d2 = s.takeJob('b')!;
    s.release(d2.key);
    expect(s.readyJobs().map((j) => j.id)).toEqual(['b', 'a', 'c']);
    // Taken, asked, released, taken and released again between two calls.
    const d3 = s.takeJob('a')!;
    expect(s.readyJobs().map((j) => j.id)).toEqual(['b', 'c']);
    s.release(d3.key);
    s.release(s.takeJob('a')!.key);
    expect(s.readyJobs().map((j) => j.id)).toEqual(['b', 'a', 'c']);
  });
});

import { describe, expect, it } from 'vitest';
import { EventLog, job, plan } from '../../test/helpers/run-fixtures.js';
import {
  StatusFold,
  progressBar,
  renderStatus,
  statusView,
  type Liveness,
  type StateCounts,
} from './index.js';

const LIVE: Liveness = { live: true, pid: 42, detail: 'pid 42' };
const GONE: Liveness = { live: false, detail: 'no process has the journal open' };
const appFail = { kind: 'application' as const, message: 'exited 1' };

function diamond() {
  return plan([
    job('a'),
    job('b', ['a']),
    job('c', ['a']),
    job('d', ['b', 'c']),
    job('in_a', [], { kind: 'stage_in', executable: undefined }),
  ]);
}

function counts(o: Partial<StateCounts>): StateCounts {
  return { unready: 0, ready: 0, running: 0, retrying: 0, done: 0, failed: 0, ...o };
}

describe('StatusFold', () => {
  it('starts with roots ready and the rest unready', () => {
    const f = new StatusFold(diamond().jobs);
    expect(f.countsAll()).toEqual(counts({ ready: 2, unready: 3 }));
    expect(f.stateOf('a')).toBe('ready');
    expect(f.stateOf('d')).toBe('unready');
    expect(f.stateOf('nope')).toBeUndefined();
  });

  it('follows jobs through running, retrying, done and failed', () => {
    const f = new StatusFold(diamond().jobs);
    const log = new EventLog().start(false, 5).started('a').started('in_a', 1, 'stage_in');
    log.events.forEach((e) => f.apply(e));
    expect(f.countsAll()).toEqual(counts({ running: 2, unready: 3 }));

    const more = new EventLog().succeed('a').started('b').started('c');
    more.events.forEach((e) => f.apply(e));
    expect(f.stateOf('a')).toBe('done');
    expect(f.countsAll()).toEqual(counts({ done: 1, running: 3, unready: 1 }));

    const fails = new EventLog()
      .fail('b', 1, appFail, {}, 'retry')
      .fail('c', 1, appFail, {}, 'failed')
      .succeed('in_a');
    fails.events.forEach((e) => f.apply(e));
    expect(f.stateOf('b')).toBe('retrying');
    expect(f.stateOf('c')).toBe('failed');
    expect(f.countsAll()).toEqual(counts({ done: 2, retrying: 1, failed: 1, unready: 1 }));

    const retry = new EventLog().started('b', 2).succeed('b', 2).finish('failed');
    retry.events.forEach((e) => f.apply(e));
    expect(f.stateOf('b')).toBe('done');
    // d still waits on c, which failed: it never runs.
    expect(f.stateOf('d')).toBe('unready');
    expect(f.blockedByFailure()).toEqual(['d']);
    expect(f.attemptsOf('b')).toBe(2);
    expect(f.jobsIn('failed')).toEqual(['c']);

    const v = statusView(f, { runDir: 'runs/x', liveness: GONE });
    expect(v.state).toBe('failed');
    expect(v.counts).toEqual(counts({ done: 3, failed: 1, unready: 1 }));
    expect(v.total).toBe(5);
    expect(v.percent).toBe(60);
    expect(v.byKind.compute).toEqual({ ...counts({ done: 2, failed: 1, unready: 1 }), total: 4 });
    expect(v.byKind.stage_in).toEqual({ ...counts({ done: 1 }), total: 1 });
    expect(v.byKind.cleanup).toBeUndefined();
  });

  it('makes a child ready only when every parent is done', () => {
    const f = new StatusFold(diamond().jobs);
    new EventLog()
      .start()
      .started('a')
      .succeed('a')
      .started('b')
      .succeed('b')
      .events.forEach((e) => f.apply(e));
    expect(f.stateOf('d')).toBe('unready');
    new EventLog()
      .started('c')
      .succeed('c')
      .events.forEach((e) => f.apply(e));
    expect(f.stateOf('d')).toBe('ready');
  });

  it('puts a cancelled attempt back to ready, and never moves a done job back', () => {
    const f = new StatusFold(diamond().jobs);
    new EventLog()
      .start()
      .started('a')
      .fail(
        'a',
        1,
        { kind: 'cancelled', message: 'stopped' },
        { exitCode: null, signal: 'SIGTERM' },
        'none',
      )
      .events.forEach((e) => f.apply(e));
    expect(f.stateOf('a')).toBe('ready');
    new EventLog()
      .started('a', 2)
      .succeed('a', 2)
      .started('a', 3) // a stray late start must not undo done
      .events.forEach((e) => f.apply(e));
    expect(f.stateOf('a')).toBe('done');
    expect(f.countsAll().done).toBe(1);
  });

  it('an interrupted run shows its dangling attempts as ready, not running', () => {
    const f = new StatusFold(diamond().jobs);
    new EventLog()
      .start()
      .started('a')
      .events.forEach((e) => f.apply(e));
    const live = statusView(f, { runDir: 'r', liveness: LIVE });
    expect(live.state).toBe('running');
    expect(live.counts.running).toBe(1);
    const dead = statusView(f, { runDir: 'r', liveness: GONE });
    expect(dead.state).toBe('interrupted');
    expect(dead.detail).toContain('process gone');
    expect(dead.counts).toEqual(counts({ ready: 2, unready: 3 }));
    expect(dead.byKind.compute!.running).toBe(0);
  });

  it('a resume gives failed jobs a fresh start and abandons dangling attempts', () => {
    const f = new StatusFold(diamond().jobs);
    new EventLog()
      .start()
      .started('a')
      .succeed('a')
      .started('b')
      .started('c')
      .fail('c', 1, appFail)
      .finish('failed')
      .events.forEach((e) => f.apply(e));
    expect(f.stateOf('b')).toBe('ready'); // run_finished abandoned the dangling attempt
    expect(f.stateOf('c')).toBe('failed');
    new EventLog().start(true).events.forEach((e) => f.apply(e));
    expect(f.run.starts).toBe(2);
    expect(f.run.finished).toBeUndefined();
    expect(f.stateOf('c')).toBe('ready');
    expect(f.countsAll()).toEqual(counts({ done: 1, ready: 3, unready: 1 }));
    expect(statusView(f, { runDir: 'r', liveness: LIVE }).state).toBe('running');
  });

  it('ignores unknown event types and counts events about unknown jobs', () => {
    const f = new StatusFold(diamond().jobs);
    const log = new EventLog().start().started('ghost');
    log.events.forEach((e) => f.apply(e));
    f.apply({ seq: 99, ts: '2024-01-01T00:01:00.000Z', type: 'something_new' } as never);
    expect(f.run.unknownJobEvents).toBe(1);
    expect(f.run.events).toBe(3);
    expect(f.countsAll()).toEqual(counts({ ready: 2, unready: 3 }));
  });
});

describe('status rendering', () => {
  it('draws the progress bar from done/total, rounded down', () => {
    expect(progressBar(13, 25, 10)).toBe('[#####.....] 52% (13/25)');
    expect(progressBar(0, 0)).toBe('[....................] 0% (0/0)');
    expect(progressBar(199, 200, 10)).toBe('[#########.] 99% (199/200)');
  });

  it('renders the run, the bar and a table by kind', () => {
    const f = new StatusFold(diamond().jobs);
    new EventLog()
      .start()
      .started('a')
      .fail('a', 1, appFail)
      .finish('failed')
      .events.forEach((e) => f.apply(e));
    const text = renderStatus(
      statusView(f, { runDir: 'runs/wf-001', liveness: GONE, workflow: 'wf' }),
    );
    expect(text).toContain('workflow wf  run dir runs/wf-001');
    expect(text).toContain('state    failed');
    expect(text).toContain('[....................] 0% (0/5)');
    expect(text).toMatch(/^kind\s+unready\s+ready\s+running\s+retrying\s+done\s+failed\s+total$/m);
    expect(text).toMatch(/^compute\s+3\s+0\s+0\s+0\s+0\s+1\s+4$/m);
    expect(text).toMatch(/^stage_in\s+0\s+1\s+0\s+0\s+0\s+0\s+1$/m);
    expect(text).toMatch(/^total\s+3\s+1\s+0\s+0\s+0\s+1\s+5$/m);
    expect(text).toContain("run 'aloft analyze runs/wf-001'");
  });

  it("shows a running transfer job's latest progress, and forgets it when the job moves on", () => {
    const f = new StatusFold(diamond().jobs);
    const progress = (attempt: number, filesDone: number, bytesDone: number) =>
      ({
        type: 'attempt_progress',
        job: 'in_a',
        attempt,
        epoch: 1,
        filesDone,
        filesTotal: 4,
        bytesDone,
        bytesTotal: 4_000_000,
      }) as const;
    const log = new EventLog()
      .start(false, 5)
      .started('in_a', 1, 'stage_in')
      .add(progress(1, 1, 1_000_000))
      .add(progress(1, 3, 3_000_000));
    log.events.forEach((e) => f.apply(e));
    const view = statusView(f, { runDir: 'r', liveness: LIVE, workflow: 'wf' });
    expect(view.transfers).toEqual([
      {
        job: 'in_a',
        attempt: 1,
        filesDone: 3,
        filesTotal: 4,
        bytesDone: 3_000_000,
        bytesTotal: 4_000_000,
        ts: log.events.at(-1)!.ts,
      },
    ]);
    const text = renderStatus(view);
    expect(text).toContain('transfers in progress');
    expect(text).toMatch(/^ {2}in_a {2}3\/4 files, 3000000 B \(2\.86 MiB\) of 4000000 B/m);

    // A stale attempt's report is ignored; a failed attempt's progress is forgotten.
    const next = new EventLog(Date.parse('2024-01-02T00:00:00.000Z'))
      .fail('in_a', 1, { kind: 'infrastructure', message: 'store down' }, {}, 'retry')
      .add(progress(1, 4, 4_000_000));
    next.events.forEach((e) => f.apply(e));
    expect(f.progressOfRunning()).toEqual([]);
    new EventLog(Date.parse('2024-01-03T00:00:00.000Z'))
      .started('in_a', 2, 'stage_in')
      .add(progress(2, 2, 2_000_000))
      .succeed('in_a', 2)
      .events.forEach((e) => f.apply(e));
    expect(f.progressOfRunning()).toEqual([]);
    expect(statusView(f, { runDir: 'r', liveness: LIVE }).transfers).toBeUndefined();
  });
});

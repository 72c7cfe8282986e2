import { describe, expect, it } from 'vitest';
import type { Failure } from '../../proto/attempt.js';
import { EventLog, job, plan, record } from '../../test/helpers/run-fixtures.js';
import type { Liveness } from '../status/index.js';
import { AnalyzeFold, diagnose, renderAnalysis, shellJoin, shellQuote } from './index.js';

const GONE: Liveness = { live: false, detail: 'no process has the journal open' };

describe('diagnose', () => {
  const compute = job('foo', [], {
    executable: { name: 'foo', pfn: '/usr/bin/foo', type: 'installed' },
    resources: { cores: 1, memoryMb: 2048, diskMb: 0, runtimeSec: 0, gpus: 0 },
    inputs: [{ lfn: 'f.in', url: 'file:///data/f.in' }],
    outputs: [{ lfn: 'f.out', url: 'file:///out/f.out' }],
    profiles: { pegasus: { maxwalltime: '5' } },
  });
  const d = (failure: Failure, rec: Parameters<typeof record>[2] = {}) =>
    diagnose({ failure, record: record('foo', 1, rec), job: compute, transformation: 'foo' });

  it('a missing executable names the pfn, the agent and the catalog', () => {
    const r = d(
      {
        kind: 'infrastructure',
        message: 'executable /usr/bin/foo not found on agent local',
        code: 'ENOENT',
      },
      { exitCode: 127 },
    );
    expect(r.cause).toBe('the executable /usr/bin/foo does not exist on agent local (site local)');
    expect(r.nextStep).toContain('transformation catalog pfn of foo for site local');
  });

  it('errnos from staging are not mistaken for a missing executable', () => {
    const r = d({
      kind: 'infrastructure',
      message: 'job foo: stage-out failed: ENOENT x',
      code: 'ENOENT',
    });
    expect(r.cause).toContain('an infrastructure failure');
    const data = d({
      kind: 'data',
      message: 'job foo: input f.in not found',
      code: 'ENOENT',
      missingFiles: ['f.in'],
    });
    expect(data.cause).toBe('input f.in was not found at file:///data/f.in');
  });

  it('an executable that cannot be executed', () => {
    const r = d(
      { kind: 'infrastructure', message: 'permission denied', code: 'EACCES' },
      { exitCode: 126 },
    );
    expect(r.cause).toContain('/usr/bin/foo could not be executed');
    expect(r.nextStep).toContain('chmod +x');
  });

  it('SIGKILL near the memory request reads as out of memory', () => {
    const r = d(
      { kind: 'application', message: 'killed' },
      { exitCode: null, signal: 'SIGKILL', maxRssKb: 2000 * 1024 },
    );
    expect(r.cause).toBe(
      'killed by SIGKILL (possibly out of memory: max RSS 2000 MB of 2048 MB requested)',
    );
    expect(r.nextStep).toContain('pegasus.memory');
    const small = d(
      { kind: 'application', message: 'killed' },
      { exitCode: null, signal: 'SIGKILL', maxRssKb: 10 * 1024 },
    );
    expect(small.cause).not.toContain('out of memory:');
    expect(small.cause).toContain('killed by SIGKILL (max RSS 10.0 MB');
  });

  it('exit 0 without a declared output', () => {
    const r = d(
      {
        kind: 'application',
        message: 'declared output f.out was not produced',
        missingFiles: ['f.out'],
      },
      { exitCode: 0 },
    );
    expect(r.cause).toBe('the job exited 0 but did not write f.out');
    expect(r.nextStep).toContain('arguments and working directory');
  });

  it('a missing input names its URL and the replica catalog', () => {
    const r = d(
      { kind: 'data', message: 'input f.in is missing', missingFiles: ['f.in'] },
      { exitCode: null },
    );
    expect(r.cause).toBe('input f.in was not found at file:///data/f.in');
    expect(r.nextStep).toContain('replica catalog entry for f.in');
    const stageIn = diagnose({
      failure: { kind: 'data', message: 'not found', missingFiles: ['raw.dat'] },
      job: job('stage_in_1', [], {
        kind: 'stage_in',
        executable: undefined,
        transfers: [
          {
            lfn: 'raw.dat',
            sources: [
              { url: 'file:///a/raw.dat', site: 'a' },
              { url: 'http://b/raw.dat', site: 'b' },
            ],
            dest: { url: 'file:///s/raw.dat', site: 'local' },
          },
        ],
      }),
      transformation: 'aloft::stage_in',
    });
    expect(stageIn.cause).toBe(
      'input raw.dat was not found at file:///a/raw.dat or http://b/raw.dat',
    );
  });

  it('checksum mismatches, timeouts, disk full, other infrastructure, cancellation', () => {
    expect(d({ kind: 'data', message: 'sha256 mismatch for f.in' }).cause).toContain('checksum');
    const t = d(
      { kind: 'timeout', message: 'runtime limit exceeded' },
      { durationMs: 300_000, exitCode: null, signal: 'SIGKILL' },
    );
    expect(t.cause).toBe(
      'the job exceeded its runtime limit of 5 min (pegasus.maxwalltime) and was stopped after 300 s',
    );
    expect(t.nextStep).toContain('raise pegasus.maxwalltime');
    expect(d({ kind: 'infrastructure', message: 'write failed', code: 'ENOSPC' }).cause).toContain(
      'ran out of disk space (ENOSPC)',
    );
    const lost = d({ kind: 'infrastructure', message: 'agent lost' });
    expect(lost.cause).toContain('not a fault of the job: agent lost');
    expect(d({ kind: 'cancelled', message: 'halted' }).nextStep).toContain('resume');
  });

  it('non-zero exits read stderr for a telling line', () => {
    const r = d(
      { kind: 'application', message: 'exited with code 2' },
      {
        exitCode: 2,
        stderrTail: 'starting\nls: cannot access /nonexistent: No such file or directory\nbye\n',
      },
    );
    expect(r.cause).toBe(
      'foo exited with code 2: it could not find /nonexistent on agent local (stderr: "ls: cannot access /nonexistent: No such file or directory")',
    );
    expect(r.nextStep).toBe(
      'make sure /nonexistent exists on agent local (site local), or declare it as an input file (replica catalog + uses) so aloft stages it',
    );
    const fails = (stderrTail: string) =>
      d({ kind: 'application', message: 'x' }, { exitCode: 1, stderrTail });
    expect(fails("/bin/ls: cannot access '/no where': No such file or directory").cause).toContain(
      'it could not find a file it tried to open',
    );
    expect(
      fails("/bin/ls: cannot access '/data/x.csv': No such file or directory").cause,
    ).toContain('could not find /data/x.csv on agent local');
    const rel = fails('cat: input.txt: No such file or directory\n');
    expect(rel.cause).toContain('could not find input.txt in its working directory');
    expect(rel.nextStep).toContain("declare input.txt as an input in the job's uses");
    expect(
      fails("FileNotFoundError: [Errno 2] No such file or directory: 'params.json'").cause,
    ).toContain('could not find params.json in its working directory');
    expect(fails('error: something else\n').cause).toBe(
      'foo exited with code 1 (stderr: "error: something else")',
    );
    const plain = d({ kind: 'application', message: 'x' }, { exitCode: 3, stderrTail: 'boom\n' });
    expect(plain.cause).toBe('foo exited with code 3 (stderr: "boom")');
    expect(
      d(
        { kind: 'application', message: 'x' },
        { exitCode: 127, stderrTail: 'sh: 1: bar: not found\n' },
      ).cause,
    ).toContain('exit 127');
    expect(
      d({ kind: 'application', message: 'x' }, { exitCode: null, signal: 'SIGSEGV' }).cause,
    ).toContain('crashed with SIGSEGV');
  });
});

describe('shellQuote', () => {
  it('quotes only what needs it, for copy and paste', () => {
    expect(shellJoin(['/bin/ls', '-l', 'a b', "it's", '', '$(rm -rf /)', 'x=1'])).toBe(
      `/bin/ls -l 'a b' 'it'\\''s' '' '$(rm -rf /)' x=1`,
    );
    expect(shellQuote('a*b')).toBe("'a*b'");
  });
});

describe('AnalyzeFold', () => {
  function failedRun() {
    const p = plan([
      job('prep'),
      job('flaky', ['prep']),
      job('bad', ['prep'], { executable: { name: 'ls', pfn: '/bin/ls', type: 'installed' } }),
      job('after_bad', ['bad']),
      job('last', ['after_bad', 'flaky']),
      job('other'),
    ]);
    const fail: Failure = { kind: 'application', message: 'exited with code 2' };
    const badRec = {
      argv: ['/bin/ls', '/nonexistent dir'],
      exitCode: 2,
      stderrTail: "ls: cannot access '/nonexistent dir': No such file or directory\n",
      stdoutTail: 'partial\n',
      host: 'node7',
    };
    const log = new EventLog()
      .start()
      .started('prep')
      .succeed('prep')
      .started('flaky')
      .fail('flaky', 1, fail, {}, 'retry')
      .started('flaky', 2)
      .succeed('flaky', 2)
      .started('bad')
      .fail('bad', 1, fail, badRec, 'retry')
      .started('bad', 2)
      .fail('bad', 2, fail, badRec, 'retry')
      .started('bad', 3)
      .fail('bad', 3, fail, badRec, 'failed')
      .finish('failed');
    return { p, log };
  }

  it('reports the failed job with its evidence, the blocked jobs and the retried ones', () => {
    const { p, log } = failedRun();
    const f = new AnalyzeFold(p);
    log.events.forEach((e) => f.apply(e));
    const v = f.view({ runDir: 'runs/wf-001', liveness: GONE });
    expect(v.state).toBe('failed');
    expect(v.summary).toEqual({
      total: 6,
      succeeded: 2,
      failed: 1,
      unsubmitted: 3,
      running: 0,
      retrying: 0,
    });
    expect(v.failedJobs).toHaveLength(1);
    const b = v.failedJobs[0]!;
    expect(b).toMatchObject({
      job: 'bad',
      kind: 'compute',
      transformation: 'ls',
      state: 'failed',
      attempts: 3,
      failedAttempts: 3,
      attempt: 3,
      exitCode: 2,
      signal: null,
      site: 'local',
      agent: 'local',
      host: 'node7',
      command: "/bin/ls '/nonexistent dir'",
      cwd: '/tmp/scratch/bad.3',
      stdoutTail: 'partial\n',
    });
    expect(b.stderrTail).toContain('No such file or directory');
    expect(b.cause).toContain('ls exited with code 2: it could not find a file');
    expect(b.history.map((h) => h.attempt)).toEqual([1, 2, 3]);
    expect(v.blocked).toEqual({ count: 2, first: ['after_bad', 'last'] });
    expect(v.retriedThenSucceeded).toEqual({ count: 1, first: ['flaky'] });
    expect(v.attemptFailures).toEqual({ application: 4 });
    expect(JSON.parse(JSON.stringify(v))).toEqual(v);

    const text = renderAnalysis(v);
    expect(text).toContain('summary  6 jobs: 2 succeeded, 1 failed, 3 unsubmitted');
    expect(text).toContain('== bad (compute, ls) ==');
    expect(text).toContain('status     failed after 3 attempt(s)');
    expect(text).toContain('ran on     site local, agent local, host node7');
    expect(text).toContain('last try   attempt 3, exit code 2');
    expect(text).toContain("command    /bin/ls '/nonexistent dir'");
    expect(text).toContain("    | ls: cannot access '/nonexistent dir': No such file or directory");
    expect(text).toContain('cause      ls exited with code 2');
    expect(text).toContain('2 job(s) never ran because an ancestor failed: after_bad, last');
    expect(text).toContain('retried  1 job(s) failed at first and then succeeded: flaky');
    expect(text).toContain('    attempt 1 on local: exit 2: exited with code 2');
  });

  it('a job whose last attempt failed before the run stopped is reported; cancellations are not', () => {
    const p = plan([job('a'), job('b'), job('c')]);
    const log = new EventLog()
      .start()
      .started('a')
      .started('b')
      .started('c')
      .fail('a', 1, { kind: 'application', message: 'exit 1' }, {}, 'retry')
      .fail(
        'b',
        1,
        { kind: 'cancelled', message: 'stopped' },
        { exitCode: null, signal: 'SIGTERM' },
        'retry',
      )
      .succeed('c')
      .finish('interrupted');
    const f = new AnalyzeFold(p);
    log.events.forEach((e) => f.apply(e));
    const v = f.view({ runDir: 'r', liveness: GONE });
    expect(v.state).toBe('interrupted');
    expect(v.failedJobs.map((j) => [j.job, j.state])).toEqual([['a', 'retrying']]);
    expect(v.attemptFailures).toEqual({ application: 1, cancelled: 1 });
    expect(renderAnalysis(v)).toContain('last attempt failed (1 of 1 failed); job is retrying');
  });

  it('lists the last few earlier attempts of a heavily retried job in text, all in JSON', () => {
    const p = plan([job('x')]);
    const log = new EventLog().start();
    for (let a = 1; a <= 8; a++) {
      log
        .started('x', a)
        .fail('x', a, { kind: 'application', message: `try ${a}` }, {}, a < 8 ? 'retry' : 'failed');
    }
    const f = new AnalyzeFold(p);
    log.events.forEach((e) => f.apply(e));
    const v = f.view({ runDir: 'r', liveness: GONE });
    expect(v.failedJobs[0]!.history).toHaveLength(8);
    const text = renderAnalysis(v);
    expect(text).toContain('    ... 2 earlier attempt(s) not shown (see --json)');
    expect(text).not.toContain('try 2\n');
    expect(text).toContain('    attempt 3 on local: exit 1: try 3');
    expect(text).toContain('    attempt 7 on local: exit 1: try 7');
    expect(text).not.toContain('attempt 8 on local');
  });

  it('a succeeded run has nothing to report', () => {
    const p = plan([job('a')]);
    const f = new AnalyzeFold(p);
    new EventLog()
      .start()
      .started('a')
      .succeed('a')
      .finish('succeeded')
      .events.forEach((e) => f.apply(e));
    const v = f.view({ runDir: 'r', liveness: GONE });
    expect(v.failedJobs).toEqual([]);
    expect(v.summary.succeeded).toBe(1);
    expect(renderAnalysis(v)).toContain('no failed jobs: the run succeeded');
  });
});

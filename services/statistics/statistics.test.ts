import { describe, expect, it } from 'vitest';
import { EventLog, job, plan } from '../../test/helpers/run-fixtures.js';
import type { Liveness } from '../status/index.js';
import { StatsFold, csvField, renderStats, renderTransformationsCsv } from './index.js';

const GONE: Liveness = { live: false, detail: 'gone' };
const appFail = { kind: 'application' as const, message: 'exit 1' };

describe('StatsFold', () => {
  it('adds up times, retries, per-transformation, per-site/agent, bytes and integrity', () => {
    const p = plan([
      job('in1', [], { kind: 'stage_in', executable: undefined }),
      job('a1', ['in1'], {
        executable: {
          namespace: 'ns',
          name: 'align',
          version: '2.0',
          pfn: '/bin/align',
          type: 'installed',
        },
      }),
      job('a2', ['in1'], {
        executable: {
          namespace: 'ns',
          name: 'align',
          version: '2.0',
          pfn: '/bin/align',
          type: 'installed',
        },
      }),
      job('merge', ['a1', 'a2'], {
        executable: { name: 'merge', pfn: '/bin/merge', type: 'installed' },
      }),
    ]);
    // Every event is 1 s after the previous unless `after` says otherwise.
    const log = new EventLog()
      .start() // t=1
      .started('in1', 1, 'stage_in') // t=2
      .succeed('in1', 1, {
        executor: 'transfer',
        durationMs: 500,
        utimeMs: 0,
        stimeMs: 0,
        maxRssKb: 0,
        transfers: [
          {
            lfn: 'x',
            src: 'file:///a',
            dst: 'file:///b',
            bytes: 1000,
            durationMs: 100,
            sha256: 'ab',
          },
          {
            lfn: 'y',
            src: 'http://c',
            dst: 'file:///d',
            bytes: 24,
            durationMs: 50,
            failedSources: ['http://e'],
          },
        ],
      }) // t=3
      .started('a1', 1, 'compute', 'edge-1') // t=4
      .started('a2', 1, 'compute', 'edge-2') // t=5
      .fail(
        'a1',
        1,
        appFail,
        {
          durationMs: 2000,
          agent: 'edge-1',
          site: 'edge',
          maxRssKb: 4096,
          utimeMs: 1500,
          stimeMs: 100,
        },
        'retry',
      ) // t=6
      .succeed('a2', 1, {
        durationMs: 4000,
        agent: 'edge-2',
        site: 'edge',
        maxRssKb: 8192,
        utimeMs: 3000,
        stimeMs: 500,
        files: [
          { lfn: 'a2.out', link: 'output', size: 10, sha256: 'cd' },
          { lfn: 'b.out', link: 'output', size: 10 },
          { lfn: 'in', link: 'input', size: 5 },
        ],
      }); // t=7: the process dies here, no run_finished
    log
      .add(
        {
          type: 'run_started',
          runId: 'run-1',
          workflow: 'wf',
          planDigest: 'x',
          jobs: 4,
          resumed: true,
        },
        { after: 100_000 },
      ) // t=107
      .started('a1', 2, 'compute', 'edge-1') // t=108
      .fail(
        'a1',
        2,
        { kind: 'cancelled', message: 'stopped' },
        { durationMs: 1000, agent: 'edge-1', site: 'edge', exitCode: null, signal: 'SIGTERM' },
        'retry',
      ) // t=109
      .started('a1', 3, 'compute', 'edge-1') // t=110
      .succeed('a1', 3, {
        durationMs: 3000,
        agent: 'edge-1',
        site: 'edge',
        maxRssKb: 2048,
        utimeMs: 1000,
        stimeMs: 0,
      }) // t=111
      .finish('failed'); // t=112

    const f = new StatsFold(p);
    log.events.forEach((e) => f.apply(e));
    const v = f.view({ runDir: 'runs/wf-001', liveness: GONE });

    expect(v.state).toBe('failed');
    // first start t=1 → last event t=112; active: 1..7 plus 107..112
    expect(v.wall).toMatchObject({ seconds: 111, activeSeconds: 11, periods: 2 });
    expect(v.cumulativeJobWallSec).toBe(10.5);
    expect(v.cumulativeBadputSec).toBe(3);
    expect(v.jobs.byKind.compute).toEqual({
      succeeded: 2,
      failed: 0,
      incomplete: 1,
      total: 3,
      retries: 1,
      attempts: 4,
    });
    expect(v.jobs.byKind.stage_in).toEqual({
      succeeded: 1,
      failed: 0,
      incomplete: 0,
      total: 1,
      retries: 0,
      attempts: 1,
    });
    expect(v.jobs.total).toEqual({
      succeeded: 3,
      failed: 0,
      incomplete: 1,
      total: 4,
      retries: 1,
      attempts: 5,
    });
    expect(v.transformations).toEqual([
      {
        transformation: 'aloft::stage_in',
        count: 1,
        succeeded: 1,
        failed: 0,
        minRuntimeSec: 0.5,
        maxRuntimeSec: 0.5,
        meanRuntimeSec: 0.5,
        maxRssMb: 0,
        totalCpuSec: 0,
      },
      {
        transformation: 'ns::align:2.0',
        count: 4,
        succeeded: 2,
        failed: 2,
        minRuntimeSec: 1,
        maxRuntimeSec: 4,
        meanRuntimeSec: 2.5,
        maxRssMb: 8,
        totalCpuSec: 6.25,
      },
    ]);
    expect(v.sites).toEqual([
      { name: 'edge', attempts: 4, succeeded: 2, failed: 2, runtimeSec: 10 },
      { name: 'local', attempts: 1, succeeded: 1, failed: 0, runtimeSec: 0.5 },
    ]);
    expect(v.agents.map((a) => [a.name, a.attempts, a.runtimeSec])).toEqual([
      ['edge-1', 3, 6],
      ['edge-2', 1, 4],
      ['local', 1, 0.5],
    ]);
    expect(v.transfers).toEqual({
      count: 2,
      bytes: 1024,
      seconds: 0.15,
      failovers: 1,
      verified: 1,
    });
    expect(v.integrity).toEqual({ outputFiles: 2, withSha256: 1, withoutSha256: 1 });

    const text = renderStats(v);
    expect(text).toContain('workflow wall time        111.000 s (active 11.000 s over 2 periods)');
    expect(text).toContain('cumulative badput         3.000 s (28.6% of job time)');
    expect(text).toContain(
      'bytes staged              1.0 KB (1024 bytes) in 2 transfer(s), 1 checksum-verified, 1 source failover(s)',
    );
    expect(text).toContain('integrity                 1 of 2 output file(s) have a sha256');
    expect(text).toMatch(
      /^ns::align:2\.0\s+4\s+2\s+2\s+1\.000\s+4\.000\s+2\.500\s+8\.0\s+6\.250$/m,
    );
    expect(text).toMatch(/^compute\s+2\s+0\s+1\s+3\s+1\s+4$/m);
    expect(text).toMatch(/^edge-1\s+3\s+1\s+2\s+6\.000$/m);

    const csv = renderTransformationsCsv(v).trimEnd().split('\n');
    expect(csv[0]).toBe(
      'transformation,count,succeeded,failed,min_runtime_s,max_runtime_s,mean_runtime_s,max_rss_mb,total_cpu_s',
    );
    expect(csv[2]).toBe('ns::align:2.0,4,2,2,1,4,2.5,8,6.25');
  });

  it('an empty journal gives zeros, not NaN', () => {
    const f = new StatsFold(plan([job('a')]));
    const v = f.view({ runDir: 'r', liveness: GONE });
    expect(v.wall).toEqual({ seconds: 0, activeSeconds: 0, periods: 0 });
    expect(v.transformations).toEqual([]);
    expect(JSON.stringify(v)).not.toContain('null');
    expect(renderStats(v)).toContain('0 of 0 output file(s)');
  });

  it('quotes CSV fields that need it', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,"b"')).toBe('"a,""b"""');
  });
});

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readWorkflow } from '../services/formats/index.js';
import type { JournalEvent } from '../services/journal/index.js';
import { defaultPlanOptions, plan } from '../services/planner/index.js';
import { BIN, REPO } from '../test/helpers/cli.js';
import { natsServerAvailable } from '../test/helpers/nats-server.js';
import { layeredDag, makefileText, writeDagFiles } from './dag.js';
import { percentile, profileJournal } from './dispatch-latency.js';
import { cpuOf, memoryOf, run, stop } from './dispatch-procs.js';

const BENCH = path.join(REPO, 'dist', 'bench', 'dispatch.js');
const hasMake = existsSync('/usr/bin/make');

const tmp = mkdtempSync(path.join(tmpdir(), 'aloft-bench-dag-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('layeredDag', () => {
  it('splits jobs over layers and gives each job two parents from the layer before', () => {
    const dag = layeredDag({ jobs: 103, layers: 10 });
    expect(dag.layers.map((l) => l.length)).toEqual([11, 11, 11, 10, 10, 10, 10, 10, 10, 10]);
    expect(dag.parents.size).toBe(103);
    dag.layers.forEach((layer, l) => {
      for (const id of layer) {
        const ps = dag.parents.get(id)!;
        if (l === 0) expect(ps).toEqual([]);
        else {
          expect(ps).toHaveLength(2);
          expect(new Set(ps).size).toBe(2);
          for (const p of ps) expect(dag.layers[l - 1]).toContain(p);
        }
      }
    });
    // Deterministic.
    expect(layeredDag({ jobs: 103, layers: 10 })).toEqual(dag);
  });

  it('gives one parent when the layer before has one job, and refuses impossible shapes', () => {
    const dag = layeredDag({ jobs: 3, layers: 3 });
    expect(dag.parents.get('j1_0')).toEqual(['j0_0']);
    expect(() => layeredDag({ jobs: 3, layers: 4 })).toThrow(/layers/);
    expect(() => layeredDag({ jobs: 0, layers: 1 })).toThrow(/jobs/);
  });

  it('writes a Makefile with the same prerequisites', () => {
    const dag = layeredDag({ jobs: 40, layers: 4 });
    const rules = new Map<string, string[]>();
    for (const line of makefileText(dag).split('\n')) {
      const m = /^(j\d+_\d+):(.*)$/.exec(line);
      if (m) rules.set(m[1]!, m[2]!.trim().split(/\s+/).filter(Boolean));
    }
    expect(rules).toEqual(dag.parents);
  });

  it('writes a Pegasus workflow that aloft plans to exactly the DAG (no staging, no cleanup)', async () => {
    const dag = layeredDag({ jobs: 60, layers: 5 });
    const files = await writeDagFiles(path.join(tmp, 'wf'), dag, 'bench-dag');
    const loaded = await readWorkflow(files.workflow);
    const p = plan(loaded, defaultPlanOptions({ cleanup: 'none' }));
    expect(p.jobs).toHaveLength(60);
    for (const j of p.jobs) {
      expect(j.kind).toBe('compute');
      expect(j.executable).toMatchObject({ name: 'true', pfn: '/bin/true', type: 'installed' });
      expect([...j.parents].sort()).toEqual([...dag.parents.get(j.id)!].sort());
    }
  });

  it.runIf(existsSync('/usr/bin/make'))('the Makefile runs every job under make', async () => {
    const dag = layeredDag({ jobs: 30, layers: 3 });
    const files = await writeDagFiles(path.join(tmp, 'mk'), dag, 'bench-mk');
    // A dry run prints each recipe once: one /bin/true per job.
    const r = spawnSync('/usr/bin/make', ['-n', '-f', files.makefile, 'all'], {
      cwd: files.dir,
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(Array(30).fill('/bin/true'));
    expect(readFileSync(files.transformations, 'utf8')).toContain('pfn: /bin/true');
  });
});

describe('profileJournal', () => {
  const ts = (ms: number): string => new Date(Date.UTC(2025, 0, 1) + ms).toISOString();
  let seq = 0;
  const ev = (ms: number, e: Record<string, unknown>): JournalEvent =>
    ({ seq: ++seq, ts: ts(ms), ...e }) as unknown as JournalEvent;
  const rec = (durationMs: number) => ({ durationMs, utimeMs: 1, stimeMs: 1 });
  const started = (ms: number, job: string): JournalEvent =>
    ev(ms, { type: 'attempt_started', job, attempt: 1, epoch: 1 });
  const finished = (ms: number, job: string): JournalEvent =>
    ev(ms, { type: 'attempt_finished', job, attempt: 1, epoch: 1, ok: true, record: rec(5) });
  const succeeded = (ms: number, job: string): JournalEvent =>
    ev(ms, { type: 'job_succeeded', job, attempt: 1 });

  it('measures ready→running from the last parent, and the overhead without slot waits', () => {
    // One slot; roots a, b; c depends on both.
    const events = [
      ev(0, { type: 'run_started' }),
      started(2, 'a'),
      finished(10, 'a'),
      succeeded(11, 'a'),
      started(14, 'b'), // ready at 0, slot free at 10: latency 14, overhead 4
      finished(20, 'b'),
      succeeded(22, 'b'),
      started(25, 'c'), // ready at 22 (last parent), slot free at 20: latency 3, overhead 3
      finished(30, 'c'),
      succeeded(30, 'c'),
      ev(31, { type: 'run_finished', state: 'succeeded' }),
    ];
    const parents = new Map([
      ['a', []],
      ['b', []],
      ['c', ['a', 'b']],
    ]);
    const p = profileJournal(events, parents, 1);
    expect(p.latency).toMatchObject({ jobs: 3, p50Ms: 3, maxMs: 14 });
    expect(p.overhead).toMatchObject({ jobs: 3, p50Ms: 3, maxMs: 4 });
    expect(p.runMs).toBe(31);
    expect(p.agentDurationMs).toBe(5);
    expect(p.jobCpuMs).toBe(2);
    expect(p.startedToFinishedMs).toBeCloseTo((8 + 6 + 5) / 3);
  });

  it('refuses a journal of a run that did not complete', () => {
    const events = [ev(0, { type: 'run_started' }), started(1, 'a')];
    expect(() =>
      profileJournal(
        events,
        new Map([
          ['a', []],
          ['b', ['a']],
        ]),
        2,
      ),
    ).toThrow(/did not complete/);
  });

  it('percentile is nearest-rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 0.5)).toBe(50);
    expect(percentile(xs, 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
  });
});

describe('/proc sampling', () => {
  it('counts the CPU of a process tree: a grandchild while it runs, and after it is reaped', async () => {
    // sh forks (the trailing `:` keeps it from exec'ing node in its place), node burns
    // 300 ms of its own CPU, says so, and waits for stdin to close.
    const burn =
      'const t=process.cpuUsage();while((process.cpuUsage().user+process.cpuUsage().system-t.user-t.system)<300000){}' +
      "console.log('burnt');process.stdin.resume();process.stdin.on('end',()=>process.exit(0))";
    const before = cpuOf(process.pid);
    const sh = spawn('/bin/sh', ['-c', `"${process.execPath}" -e "${burn}"; :`], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => {
      sh.stdout!.setEncoding('utf8').on('data', (d: string) => d.includes('burnt') && resolve());
    });
    const live = cpuOf(process.pid);
    expect(live.childrenS - before.childrenS).toBeGreaterThanOrEqual(0.28);
    sh.stdin!.end();
    await new Promise((r) => sh.once('exit', r));
    const reaped = cpuOf(process.pid);
    expect(reaped.childrenS - before.childrenS).toBeGreaterThanOrEqual(0.28);
    expect(reaped.selfS).toBeGreaterThanOrEqual(before.selfS);
    expect(() => cpuOf(sh.pid!)).toThrow(/gone/);
    await stop(sh);
  });

  it('reads resident and peak memory', () => {
    const m = memoryOf(process.pid);
    expect(m.rssMb).toBeGreaterThan(1);
    expect(m.peakRssMb).toBeGreaterThanOrEqual(m.rssMb);
  });
});

/** Cells of a text table row (columns are separated by two or more spaces). */
const cells = (line: string): string[] => line.trim().split(/ {2,}/);
const num = /^\d+(\.\d+)?$/;

describe.skipIf(!natsServerAvailable || !existsSync(BIN) || !existsSync(BENCH))(
  'bench/dispatch at tiny size (every mode but snakemake)',
  () => {
    it('prints the dispatch table, the scheduler CPU, the budget and the heartbeat table', async () => {
      const dir = path.join(tmp, 'bench');
      const r = await run(
        process.execPath,
        [
          BENCH,
          '--jobs', '50',
          '--layers', '5',
          '--slots', '2',
          '--skip', 'snakemake',
          '--heartbeat-agents', '20',
          '--heartbeat-seconds', '2',
          '--heartbeat-interval-ms', '500',
          '--dir', dir,
        ], // prettier-ignore
        REPO,
      );
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      const lines = r.stdout.split('\n');

      // The dispatch table: header, rule, one row per mode, all runs complete.
      const h = lines.findIndex((l) => l.startsWith('mode '));
      expect(cells(lines[h]!)).toEqual([
        'mode', 'jobs', 'wall s', 'jobs/s', 'vs make -j2', 'p50 ms', 'p99 ms',
      ]); // prettier-ignore
      const rows = new Map<string, string[]>();
      for (const l of lines.slice(h + 2)) {
        if (l.trim() === '') break;
        const c = cells(l);
        rows.set(c[0]!, c.slice(1));
      }
      const aloftModes = [
        'aloft run (embedded), --slots 2',
        'engine+agent in one process (NATS)',
        'aloft scheduler + aloft agent --slots 2 --prefetch 2',
      ];
      expect([...rows.keys()]).toEqual([
        ...(hasMake ? ['make -j2'] : []),
        'node spawn /bin/true, 2 in flight',
        ...aloftModes,
      ]);
      for (const [mode, [jobs, wall, rate, vsMake, p50, p99]] of rows) {
        expect(jobs, mode).toBe('50');
        expect(wall, mode).toMatch(num);
        expect(rate, mode).toMatch(num);
        expect(vsMake, mode).toMatch(hasMake ? /^\d+\.\d\dx$/ : /^-$/);
        if (aloftModes.includes(mode)) {
          expect(p50, mode).toMatch(/^\d+$/);
          expect(p99, mode).toMatch(/^\d+$/);
        }
      }
      // The scheduler row's journal profile, its processes' CPU, the budget verdict.
      expect(r.stdout).toMatch(
        /^ {2}aloft scheduler \+ aloft agent --slots 2 --prefetch 2: overhead \d+\/\d+\/\d+; /m,
      );
      expect(r.stdout).toMatch(
        /^ {2}scheduler \d+\.\d\d, agent \d+\.\d\d, the agent's child processes \(launcher, jobs\) \d+\.\d\d, nats-server \d+\.\d\d$/m,
      );
      expect(r.stdout).toMatch(
        /^ {2}RSS at the end: scheduler \d+\.\d MB \(peak \d+\.\d\), agent /m,
      );
      expect(r.stdout).toMatch(
        hasMake
          ? /^budget \(aloft scheduler \+ aloft agent --slots 2 --prefetch 2 >= 0\.6x make -j2\): (MET|MISSED)/m
          : /^budget: not judged/m,
      );

      // The heartbeat table against the real scheduler: every agent registered and stayed.
      const hh = lines.findIndex((l) => l.startsWith('agents '));
      expect(cells(lines[hh]!)).toEqual([
        'agents', 'interval ms', 'window s', 'scheduler CPU %', 'RSS MB', 'heartbeats/s',
      ]); // prettier-ignore
      const [agents, interval, window, cpu, rss, beats] = cells(lines[hh + 2]!);
      expect([agents, interval]).toEqual(['20', '500']);
      for (const v of [window, cpu, rss, beats]) expect(v).toMatch(num);
      expect(Number(beats)).toBeGreaterThan(0);
      expect(r.stdout).toMatch(/All 20 listed ready after \d+\.\d s; 20 ready after the window\./);
    }, 300_000);
  },
);

/**
 * bench/dispatch — issue 3's dispatch budget (DESIGN §10): how fast aloft turns ready jobs
 * into running processes, beside GNU make (and Snakemake when installed) on the same DAG in
 * the same invocation.
 *
 *   npm run build && node dist/bench/dispatch.js [--jobs 10000] [--layers 20] [--slots 2]
 *       [--skip make,snakemake,spawn,embedded,nats,heartbeat] [--dir .bench/dispatch]
 *       [--heartbeat-agents 1000] [--heartbeat-seconds 30] [--heartbeat-interval-ms 5000]
 *       [--cpu-prof DIR]
 *
 * The DAG (bench/dag.ts): JOBS `/bin/true` jobs in LAYERS layers, each job depending on two
 * jobs of the layer before. Modes, each in a child process of its own:
 *   make -jN          GNU make on the same graph as a Makefile of phony targets (baseline);
 *   snakemake         `snakemake --cores N` on the same graph, or "not installed";
 *   node spawn        `child_process.spawn('/bin/true')`, N in flight, no DAG — the floor
 *                     of anything written in Node;
 *   aloft embedded    `node dist/cli/main.js run workflow.yml --slots N --cleanup none`
 *                     in a fresh run directory (in-process transport);
 *   engine+agent over NATS (one process)
 *                     the engine and one agent, each with its own connection to a real
 *                     nats-server started here on a free loopback port, protobuf on the
 *                     wire — the "scheduler → NATS → one agent" path until `aloft
 *                     scheduler` exists (then a mode that starts `aloft scheduler` and
 *                     `aloft agent` as two processes belongs beside it);
 *   heartbeat         N simulated agents (one process, one NATS connection each) sending an
 *                     ad and then a Heartbeat every interval, and a stand-in for the
 *                     scheduler's heartbeat intake (its own process: decodes every message,
 *                     updates a Map of last-seen times) whose CPU is reported.
 * wall s is the child process's wall time as seen from here (start-up, loading and planning
 * included, as a user would see it); jobs/s = jobs / wall. Ready-to-running latency p50/p99
 * comes from the run's journal; the definition is in bench/dispatch-latency.ts (ready = the
 * last parent's job_succeeded, or run_started for roots; running = attempt_started).
 * Budget (issue 3): the NATS row at least 0.6x make -jN; the goal is to beat make.
 * With --cpu-prof DIR the two aloft runs write V8 CPU profiles (`node --cpu-prof`) there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createProtobufCodec } from '../proto/codec/index.js';
import { subjects } from '../proto/index.js';
import { readJournalSync } from '../services/journal/index.js';
import { layeredDag, writeDagFiles, type DagFiles } from './dag.js';
import { profileJournal, type JournalProfile } from './dispatch-latency.js';
import { idleHeartbeat, sampleHeartbeat, simId } from './dispatch-sim.js';
import type { WorkerResult } from './dispatch-worker.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const worker = path.join(here, 'dispatch-worker.js');
const cliMain = path.join(here, '..', 'cli', 'main.js');
const NATS_SERVER_BIN = '/usr/sbin/nats-server';
const MODES = ['make', 'snakemake', 'spawn', 'embedded', 'nats', 'heartbeat'] as const;
type Mode = (typeof MODES)[number];

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '10000' },
    layers: { type: 'string', default: '20' },
    slots: { type: 'string', default: '2' },
    skip: { type: 'string', default: '' },
    dir: { type: 'string', default: '.bench/dispatch' },
    'heartbeat-agents': { type: 'string', default: '1000' },
    'heartbeat-seconds': { type: 'string', default: '30' },
    'heartbeat-interval-ms': { type: 'string', default: '5000' },
    'cpu-prof': { type: 'string' },
  },
});

function positiveInt(flag: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`bench/dispatch: --${flag} must be a positive integer, got '${raw}'\n`);
    process.exit(2);
  }
  return n;
}
const jobs = positiveInt('jobs', values.jobs);
const layers = positiveInt('layers', values.layers);
const slots = positiveInt('slots', values.slots);
const hbAgents = positiveInt('heartbeat-agents', values['heartbeat-agents']);
const hbSeconds = positiveInt('heartbeat-seconds', values['heartbeat-seconds']);
const hbIntervalMs = positiveInt('heartbeat-interval-ms', values['heartbeat-interval-ms']);
const skip = new Set(
  values
    .skip!.split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
for (const s of skip) {
  if (!(MODES as readonly string[]).includes(s)) {
    process.stderr.write(`bench/dispatch: --skip '${s}' is not one of ${MODES.join(', ')}\n`);
    process.exit(2);
  }
}
if (layers > jobs) {
  process.stderr.write(`bench/dispatch: --layers (${layers}) exceeds --jobs (${jobs})\n`);
  process.exit(2);
}
const root = path.resolve(values.dir!);
const cpuProfDir = values['cpu-prof'] === undefined ? undefined : path.resolve(values['cpu-prof']);
const runs = path.join(root, 'runs');
const children = new Set<ChildProcess>();

// ---- child processes ----

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  wallMs: number;
  stdout: string;
  stderr: string;
}

function start(cmd: string, args: string[], cwd: string): ChildProcess {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function finish(child: ChildProcess, t0: number): Promise<ChildRun> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    // 'close': the process exited and its output is fully read.
    child.once('close', (code, signal) =>
      resolve({ code, signal, wallMs: performance.now() - t0, stdout, stderr }),
    );
  });
}

function run(cmd: string, args: string[], cwd: string): Promise<ChildRun> {
  const t0 = performance.now();
  return finish(start(cmd, args, cwd), t0);
}

function failure(what: string, r: ChildRun): string {
  const last = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ');
  return `${what} failed (${r.signal ?? `exit ${r.code}`}): ${last}`;
}

function lastJson(r: ChildRun): WorkerResult {
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as WorkerResult;
}

/** Resolve when `child` prints a line equal to `line` on stdout. */
function waitForLine(child: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer | string): void => {
      buf += d.toString('utf8');
      if (buf.split('\n').includes(line)) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited (${code}) before printing '${line}'`)));
  });
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

// ---- nats-server on a free loopback port ----

interface NatsServer {
  url: string;
  stop(): Promise<void>;
}

async function startNatsServer(): Promise<NatsServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aloft-bench-nats-'));
  const conf = path.join(dir, 'nats-server.conf');
  // JSON is valid nats-server config. port -1 = a free port, written to the ports file.
  await writeFile(conf, JSON.stringify({ host: '127.0.0.1', port: -1, ports_file_dir: dir }));
  const child = start(NATS_SERVER_BIN, ['-c', conf, '-l', path.join(dir, 'server.log')], dir);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 500; i++) {
    if (child.exitCode !== null) break;
    const file = (await readdir(dir)).find((f) => f.endsWith('.ports'));
    const text = file ? await readFile(path.join(dir, file), 'utf8').catch(() => '') : '';
    const first = text ? (JSON.parse(text) as { nats?: string[] }).nats?.[0] : undefined;
    if (first) return { url: first, stop };
    await new Promise((r) => setTimeout(r, 20));
  }
  const log = await readFile(path.join(dir, 'server.log'), 'utf8').catch(() => '');
  await stop();
  throw new Error(`nats-server did not start:\n${log}`);
}

// ---- modes ----

interface Row {
  mode: string;
  jobs?: number;
  wallMs?: number;
  profile?: JournalProfile;
  /** Set instead of numbers when the mode did not run. */
  note?: string;
}

const makeLabel = `make -j${slots}`;

async function measureMake(dag: DagFiles): Promise<Row> {
  const make = onPath('make');
  if (!make) return { mode: makeLabel, note: 'not installed' };
  const r = await run(make, [`-j${slots}`, '-s', '-f', dag.makefile, 'all'], dag.dir);
  if (r.code !== 0) return { mode: makeLabel, note: failure('make', r) };
  return { mode: makeLabel, jobs, wallMs: r.wallMs };
}

async function measureSnakemake(dag: DagFiles): Promise<Row> {
  const label = `snakemake --cores ${slots}`;
  const snakemake = onPath('snakemake');
  if (!snakemake) return { mode: label, note: 'not installed' };
  const dir = path.join(runs, 'snakemake');
  mkdirSync(dir, { recursive: true });
  const r = await run(
    snakemake,
    ['--snakefile', dag.snakefile, '--cores', String(slots), '--directory', dir, '--quiet'],
    dir,
  );
  if (r.code !== 0) return { mode: label, note: failure('snakemake', r) };
  return { mode: label, jobs, wallMs: r.wallMs };
}

async function measureSpawn(): Promise<Row> {
  const label = `node spawn /bin/true, ${slots} in flight`;
  const r = await run(process.execPath, [worker, 'spawn', String(jobs), String(slots)], runs);
  if (r.code !== 0) return { mode: label, note: failure('spawn', r) };
  // The worker's own measure: no DAG to load, so process start-up is not the floor's cost.
  const w = lastJson(r);
  return { mode: label, jobs: w.jobs, wallMs: w.wallMs };
}

/** Parents of each planned job, from the run directory's plan.json. */
function planParents(runDir: string): Map<string, string[]> {
  const plan = JSON.parse(readFileSync(path.join(runDir, 'plan.json'), 'utf8')) as {
    jobs: { id: string; parents: string[] }[];
  };
  return new Map(plan.jobs.map((j) => [j.id, j.parents]));
}

function withProfile(row: Row, runDir: string): Row {
  const parents = planParents(runDir);
  if (parents.size !== jobs) {
    return { ...row, note: `the plan has ${parents.size} jobs, not ${jobs}` };
  }
  return { ...row, profile: profileJournal(readJournalSync(runDir), parents, slots) };
}

const profArgs = (name: string): string[] =>
  cpuProfDir
    ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, '--cpu-prof-name', `${name}.cpuprofile`]
    : [];

async function measureEmbedded(dag: DagFiles): Promise<Row> {
  const label = `aloft run (embedded), --slots ${slots}`;
  const runDir = path.join(runs, 'embedded');
  const r = await run(
    process.execPath,
    [
      ...profArgs('embedded'),
      cliMain,
      'run',
      dag.workflow,
      '--slots',
      String(slots),
      '--cleanup',
      'none',
      '--run-dir',
      runDir,
      '--output-dir',
      path.join(runs, 'embedded-out'),
    ],
    dag.dir,
  );
  if (r.code !== 0) return { mode: label, note: failure('aloft run', r) };
  return withProfile({ mode: label, jobs, wallMs: r.wallMs }, runDir);
}

async function measureNats(dag: DagFiles, url: string): Promise<Row> {
  const label = 'engine+agent over NATS (one process)';
  const runDir = path.join(runs, 'nats');
  const r = await run(
    process.execPath,
    [
      ...profArgs('nats'),
      worker,
      'nats',
      url,
      dag.workflow,
      runDir,
      path.join(runs, 'nats-out'),
      String(slots),
    ],
    dag.dir,
  );
  if (r.code !== 0) return { mode: label, note: failure('engine+agent over NATS', r) };
  return withProfile({ mode: label, jobs, wallMs: r.wallMs }, runDir);
}

interface HeartbeatResult {
  intake?: WorkerResult;
  note?: string;
}

async function measureHeartbeats(url: string): Promise<HeartbeatResult> {
  const t0 = performance.now();
  const intake = start(
    process.execPath,
    [worker, 'hb-intake', url, String(hbAgents), String(hbSeconds)],
    runs,
  );
  const intakeDone = finish(intake, t0);
  let agents: ChildProcess | undefined;
  try {
    await waitForLine(intake, 'ready');
    agents = start(
      process.execPath,
      [worker, 'hb-agents', url, String(hbAgents), String(hbIntervalMs)],
      runs,
    );
    const agentsDone = finish(agents, performance.now());
    process.stderr.write(`  ${hbAgents} simulated agents connecting...\n`);
    const first = await Promise.race([intakeDone, agentsDone]);
    if (first.code !== 0) return { note: failure('heartbeat run', first) };
    return { intake: lastJson(first) };
  } finally {
    if (agents && agents.exitCode === null && agents.signalCode === null) agents.kill('SIGTERM');
    if (intake.exitCode === null && intake.signalCode === null) intake.kill('SIGTERM');
  }
}

// ---- report ----

const f1 = (x: number): string => x.toFixed(1);
const f3 = (x: number): string => x.toFixed(3);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  rmSync(runs, { recursive: true, force: true });
  mkdirSync(runs, { recursive: true });
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  const dagDir = path.join(root, `dag-${jobs}x${layers}`);
  const dag = await writeDagFiles(dagDir, layeredDag({ jobs, layers }), `dispatch${jobs}`);
  process.stderr.write(`DAG: ${jobs} jobs in ${layers} layers, files in ${dagDir}\n`);

  const rows: Row[] = [];
  let hb: HeartbeatResult | undefined;
  const wants = (m: Mode): boolean => !skip.has(m);
  const step = async (m: Mode, fn: () => Promise<Row>): Promise<void> => {
    if (!wants(m)) return;
    process.stderr.write(`measuring ${m}...\n`);
    rows.push(await fn());
  };
  await step('make', () => measureMake(dag));
  await step('snakemake', () => measureSnakemake(dag));
  await step('spawn', () => measureSpawn());
  await step('embedded', () => measureEmbedded(dag));
  let nats: NatsServer | undefined;
  if (wants('nats') || wants('heartbeat')) {
    if (!existsSync(NATS_SERVER_BIN)) {
      if (wants('nats'))
        rows.push({ mode: 'engine+agent over NATS (one process)', note: 'no nats-server' });
      if (wants('heartbeat')) hb = { note: `${NATS_SERVER_BIN} not installed` };
    } else {
      nats = await startNatsServer();
      try {
        const url = nats.url;
        await step('nats', () => measureNats(dag, url));
        if (wants('heartbeat')) {
          process.stderr.write(`measuring heartbeat intake for ${hbSeconds} s...\n`);
          hb = await measureHeartbeats(url);
        }
      } finally {
        await nats.stop();
      }
    }
  }

  const makeRow = rows.find((r) => r.mode === makeLabel && r.wallMs !== undefined);
  const makeRate = makeRow ? makeRow.jobs! / (makeRow.wallMs! / 1000) : undefined;
  const body = rows.map((r): string[] => {
    if (r.note !== undefined || r.wallMs === undefined) return [r.mode, r.note ?? '', '', '', ''];
    const rate = r.jobs! / (r.wallMs / 1000);
    return [
      r.mode,
      String(r.jobs),
      f3(r.wallMs / 1000),
      rate.toFixed(0),
      makeRate ? `${(rate / makeRate).toFixed(2)}x` : '-',
      r.profile ? String(r.profile.latency.p50Ms) : '-',
      r.profile ? String(r.profile.latency.p99Ms) : '-',
    ];
  });
  const lines: string[] = [
    '',
    `dispatch: ${jobs}-job layered DAG (${layers} layers, 2 parents per job) of /bin/true, ${slots} slots`,
    '',
    table(['mode', 'jobs', 'wall s', 'jobs/s', `vs ${makeLabel}`, 'p50 ms', 'p99 ms'], body),
  ];
  const profiled = rows.filter((r) => r.profile);
  if (profiled.length > 0) {
    lines.push(
      '',
      'per job, from the journal (ms): dispatch overhead = ready→running minus waiting for a free slot (p50/p99/max);',
      '  means: ready→running | started→finished | agent-measured attempt | finished→succeeded | job CPU; run_started→run_finished',
    );
    for (const r of profiled) {
      const p = r.profile!;
      const o = p.overhead;
      lines.push(
        `  ${r.mode}: overhead ${o.p50Ms}/${o.p99Ms}/${o.maxMs}; means ${f1(p.latency.meanMs)} | ${f1(p.startedToFinishedMs)} | ${f1(p.agentDurationMs)} | ${f1(p.finishedToSucceededMs)} | ${f1(p.jobCpuMs)}; ${f3(p.runMs / 1000)} s`,
      );
    }
  }
  const natsRow = rows.find((r) => r.mode.startsWith('engine+agent over NATS'));
  if (natsRow) {
    if (natsRow.wallMs === undefined || makeRate === undefined) {
      lines.push('', `budget: not judged (${natsRow.note ?? `no ${makeLabel} baseline`})`);
    } else {
      const ratio = natsRow.jobs! / (natsRow.wallMs / 1000) / makeRate;
      const verdict =
        ratio >= 1 ? 'MET, and beats make (the goal)' : ratio >= 0.6 ? 'MET' : 'MISSED';
      lines.push('', `budget (NATS row >= 0.6x ${makeLabel}): ${verdict} at ${ratio.toFixed(2)}x`);
    }
  }
  if (wants('heartbeat')) {
    const codec = createProtobufCodec();
    const id = simId(999);
    const busy = codec.encode(subjects.heartbeat(id), sampleHeartbeat(id, 17_280)).length;
    const idle = codec.encode(subjects.heartbeat(id), idleHeartbeat(id, 17_280)).length;
    lines.push('', `heartbeat: ${hbAgents} simulated agents, one every ${hbIntervalMs} ms each`);
    lines.push(
      `  message: ${busy} bytes payload with 2 attempts running, ${idle} bytes idle (subject ${subjects.heartbeat(id)}, ${subjects.heartbeat(id).length} bytes)`,
    );
    if (hb?.intake) {
      const i = hb.intake;
      const rate = (i['heartbeats'] as number) / (i.wallMs / 1000);
      lines.push(
        `  scheduler intake stand-in: ${f1((100 * i.cpuMs) / i.wallMs)}% of one core over ${f1(i.wallMs / 1000)} s (${i['heartbeats'] as number} heartbeats, ${rate.toFixed(0)}/s, ${i['tracked'] as number} agents tracked, RSS ${f1(i.maxRssMb)} MB)`,
      );
    } else {
      lines.push(`  not measured: ${hb?.note ?? 'skipped'}`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
  return rows.some((r) => r.note !== undefined && r.note !== 'not installed') ? 1 : 0;
}

const stopChildren = (): void => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
};
process.once('SIGINT', () => {
  stopChildren();
  process.exit(130);
});
try {
  process.exitCode = await main();
} catch (e) {
  stopChildren();
  process.stderr.write(`bench/dispatch: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
}

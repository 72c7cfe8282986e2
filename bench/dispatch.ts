/**
 * bench/dispatch — issue 3's dispatch budget (DESIGN §10): how fast aloft turns ready jobs
 * into running processes, beside GNU make (and Snakemake when installed) on the same DAG in
 * the same invocation, and what 1,000 heartbeating agents cost the scheduler.
 *
 *   npm run build && node dist/bench/dispatch.js [--jobs 10000] [--layers 20] [--slots 2]
 *       [--skip make,snakemake,spawn,embedded,nats,scheduler,heartbeat]
 *       [--dir .bench/dispatch] [--heartbeat-agents 1000] [--heartbeat-seconds 30]
 *       [--heartbeat-interval-ms 5000] [--cpu-prof DIR]
 *
 * The DAG (bench/dag.ts): JOBS `/bin/true` jobs in LAYERS layers, each job depending on two
 * jobs of the layer before. Modes, each in processes of their own:
 *   make -jN          GNU make on the same graph as a Makefile of phony targets (baseline);
 *   snakemake         `snakemake --cores N` on the same graph, or "not installed";
 *   node spawn        `child_process.spawn('/bin/true')`, N in flight, no DAG — the floor
 *                     of anything written in Node;
 *   aloft embedded    `node dist/cli/main.js run workflow.yml --slots N --cleanup none`
 *                     in a fresh run directory (in-process transport);
 *   engine+agent in one process (nats)
 *                     the engine and one agent in one process, each with its own connection
 *                     to a real nats-server, protobuf on the wire;
 *   aloft scheduler   the real path (the budget row): a nats-server, an `aloft scheduler`
 *                     process, one `aloft agent --slots N` process at the DAG's site, then
 *                     `aloft submit workflow.yml --wait --cleanup none`. Besides the
 *                     throughput and latency, the CPU seconds (utime+stime, /proc/<pid>/stat)
 *                     the scheduler and the agent spent per 1,000 jobs, sampled just before
 *                     the submit and after the workflow ended, before they exit;
 *   heartbeat         an `aloft scheduler` process and N simulated idle agents in one
 *                     process, one NATS connection each, each sending its ad and then a
 *                     Heartbeat every interval (bench/dispatch-sim.ts). Once `aloft agents
 *                     --json` lists all N as ready: the scheduler's CPU over the window
 *                     (/proc utime+stime delta / window, % of one core), its RSS, and the
 *                     messages nats-server delivered to its connection (monitoring /connz).
 * wall s, in the table, is what a user waits for: the child process's wall time seen from
 * here for make, snakemake, `aloft run` and the one-process engine+agent (start-up, loading
 * and planning included); the worker's own measure for node spawn (no DAG to load); from
 * starting `aloft submit --wait` to its exit for the scheduler row (client start-up, the
 * scheduler reading and planning the workflow, the run, and the client seeing its end; the
 * scheduler and agent are already up). jobs/s = jobs / wall. Ready-to-running latency
 * p50/p99 comes from the run's journal; the definition is in bench/dispatch-latency.ts
 * (ready = the last parent's job_succeeded, or run_started for roots; running =
 * attempt_started). Budget (issue 3): the scheduler row at least 0.6x make -jN; the goal
 * is to beat make. With --cpu-prof DIR every aloft process writes a V8 CPU profile there.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createProtobufCodec } from '../proto/codec/index.js';
import { subjects } from '../proto/index.js';
import { readJournalSync } from '../services/journal/index.js';
import { lockRunDir, type RunLock } from '../services/run/index.js';
import { DAG_SITE, layeredDag, writeDagFiles, type DagFiles } from './dag.js';
import {
  CLI_MAIN,
  NATS_SERVER_BIN,
  SCHEDULER_CONNECTION_NAME,
  connections,
  control,
  startAgent,
  startNatsServer,
  startScheduler,
  waitForReadyAgents,
  type Daemon,
  type NatsServer,
} from './dispatch-daemons.js';
import { profileJournal, type JournalProfile } from './dispatch-latency.js';
import {
  cpuDelta,
  cpuOf,
  failure,
  finish,
  memoryOf,
  onPath,
  run,
  start,
  stop,
  stopChildren,
  type ChildRun,
  type CpuSample,
  type MemorySample,
} from './dispatch-procs.js';
import { idleHeartbeat, sampleHeartbeat, simId } from './dispatch-sim.js';
import type { WorkerResult } from './dispatch-worker.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const worker = path.join(here, 'dispatch-worker.js');
const MODES = ['make', 'snakemake', 'spawn', 'embedded', 'nats', 'scheduler', 'heartbeat'] as const;
type Mode = (typeof MODES)[number];

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '10000' },
    layers: { type: 'string', default: '20' },
    slots: { type: 'string', default: '2' },
    prefetch: { type: 'string' },
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
/** The agent's queue beyond its slots: one slots' worth unless told (0 turns it off). */
const prefetch = values.prefetch === undefined ? slots : Number(values.prefetch);
if (!Number.isInteger(prefetch) || prefetch < 0) {
  process.stderr.write(
    `bench/dispatch: --prefetch must be a non-negative integer, got '${values.prefetch}'\n`,
  );
  process.exit(2);
}
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
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function lastJson(r: ChildRun): WorkerResult {
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as WorkerResult;
}

/** Settles when the first of `daemons` exits. */
function anyExit(...daemons: Daemon[]): Promise<void> {
  return Promise.race(
    daemons.map((d) => new Promise<void>((r) => d.child.once('exit', () => r()))),
  );
}

// ---- modes ----

/** What the scheduler row measures besides time: /proc of the two long-running processes. */
interface ProcessCosts {
  /** submit → end deltas. */
  scheduler: CpuSample;
  agent: CpuSample;
  nats: CpuSample;
  /** At the end, before they exit. */
  schedulerMemory: MemorySample;
  agentMemory: MemorySample;
}

interface Row {
  mode: string;
  jobs?: number;
  wallMs?: number;
  profile?: JournalProfile;
  costs?: ProcessCosts;
  /** Set instead of numbers when the mode did not run. */
  note?: string;
}

const makeLabel = `make -j${slots}`;
const schedulerLabel = `aloft scheduler + aloft agent --slots ${slots} --prefetch ${prefetch}`;

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
      CLI_MAIN,
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
  const label = 'engine+agent in one process (NATS)';
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
  if (r.code !== 0) return { mode: label, note: failure('engine+agent in one process', r) };
  return withProfile({ mode: label, jobs, wallMs: r.wallMs }, runDir);
}

async function measureScheduler(dag: DagFiles, nats: NatsServer): Promise<Row> {
  const url = nats.url;
  const label = schedulerLabel;
  const dataDir = path.join(runs, 'scheduler-data');
  let sched: Daemon | undefined;
  let agent: Daemon | undefined;
  try {
    const s = await startScheduler({
      natsUrl: url,
      dataDir,
      cwd: runs,
      nodeArgs: profArgs('scheduler'),
    });
    sched = s;
    agent = await startAgent({
      natsUrl: url,
      id: 'bench-agent',
      site: DAG_SITE,
      workDir: path.join(runs, 'scheduler-agent'),
      prefetch,
      slots,
      cwd: runs,
      nodeArgs: profArgs('agent'),
    });
    await waitForReadyAgents(s.address, 1, runs, 60_000, anyExit(s, agent));
    const s0 = cpuOf(s.pid);
    const a0 = cpuOf(agent.pid);
    const n0 = cpuOf(nats.pid);
    const r = await control(
      s.address,
      [
        'submit',
        dag.workflow,
        '--wait',
        '--cleanup',
        'none',
        '--output-dir',
        path.join(runs, 'scheduler-out'),
      ],
      dag.dir,
    );
    // Sampled while both still run: a process's /proc entry goes when it exits.
    const costs: ProcessCosts = {
      scheduler: cpuDelta(s0, cpuOf(s.pid)),
      agent: cpuDelta(a0, cpuOf(agent.pid)),
      nats: cpuDelta(n0, cpuOf(nats.pid)),
      schedulerMemory: memoryOf(s.pid),
      agentMemory: memoryOf(agent.pid),
    };
    if (r.code !== 0) return { mode: label, note: failure('aloft submit --wait', r) };
    const id = r.stdout.trim().split('\n')[0] ?? '';
    const runDir = path.join(dataDir, 'runs', id);
    if (!/^[A-Za-z0-9_.-]+$/.test(id) || !existsSync(runDir)) {
      return { mode: label, note: `aloft submit printed '${id}', not a run of ${dataDir}` };
    }
    return withProfile({ mode: label, jobs, wallMs: r.wallMs, costs }, runDir);
  } catch (e) {
    return { mode: label, note: message(e) };
  } finally {
    if (agent) await agent.stop();
    if (sched) await sched.stop();
  }
}

interface HeartbeatResult {
  windowMs: number;
  cpuS: number;
  memory: MemorySample;
  /** Messages nats-server delivered to the scheduler's connection over the window. */
  delivered?: number;
  /** From starting the simulated agents until the scheduler listed all of them as ready. */
  registerMs: number;
  /** Agents the scheduler lists as ready after the window. */
  readyAfter: number;
}

async function measureHeartbeats(nats: NatsServer): Promise<HeartbeatResult | { note: string }> {
  let sched: Daemon | undefined;
  let sim: ChildProcess | undefined;
  try {
    const s = await startScheduler({
      natsUrl: nats.url,
      dataDir: path.join(runs, 'heartbeat-data'),
      cwd: runs,
      nodeArgs: profArgs('heartbeat-scheduler'),
    });
    sched = s;
    const t0 = performance.now();
    sim = start(
      process.execPath,
      [worker, 'hb-agents', nats.url, String(hbAgents), String(hbIntervalMs)],
      runs,
    );
    const simDone = finish(sim, t0);
    process.stderr.write(`  ${hbAgents} simulated agents connecting...\n`);
    await waitForReadyAgents(
      s.address,
      hbAgents,
      runs,
      120_000 + 100 * hbAgents,
      Promise.race([simDone, anyExit(s)]),
    );
    const registerMs = performance.now() - t0;
    process.stderr.write(`  all ready after ${(registerMs / 1000).toFixed(1)} s; measuring\n`);
    const schedulerConnection = async (): Promise<number | undefined> => {
      const mine = (await connections(nats.monitorUrl)).filter(
        (c) => c.name === SCHEDULER_CONNECTION_NAME,
      );
      return mine.length === 1 ? mine[0]!.outMsgs : undefined;
    };
    const m0 = await schedulerConnection();
    const c0 = cpuOf(s.pid);
    const w0 = performance.now();
    const ended = await Promise.race([sleep(hbSeconds * 1000).then(() => undefined), simDone]);
    const c1 = cpuOf(s.pid);
    const windowMs = performance.now() - w0;
    const m1 = await schedulerConnection();
    const memory = memoryOf(s.pid);
    if (ended) return { note: failure('the simulated agents', ended) };
    const after = await control(s.address, ['agents', '--json'], runs);
    if (after.code !== 0) return { note: failure('aloft agents', after) };
    const listed = (JSON.parse(after.stdout) as { agents: { state: string }[] }).agents;
    return {
      windowMs,
      cpuS: cpuDelta(c0, c1).selfS,
      memory,
      ...(m0 !== undefined && m1 !== undefined ? { delivered: m1 - m0 } : {}),
      registerMs,
      readyAfter: listed.filter((a) => a.state === 'ready').length,
    };
  } catch (e) {
    return { note: message(e) };
  } finally {
    if (sim) await stop(sim);
    if (sched) await sched.stop();
  }
}

// ---- report ----

const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);
const f3 = (x: number): string => x.toFixed(3);

/** A text table; the first `leftColumns` columns align left, the others right. */
function table(header: string[], rows: string[][], leftColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function dispatchReport(rows: Row[]): string[] {
  const makeRow = rows.find((r) => r.mode === makeLabel && r.wallMs !== undefined);
  const makeRate = makeRow ? makeRow.jobs! / (makeRow.wallMs! / 1000) : undefined;
  const body = rows.map((r): string[] => {
    // Notes go below the table: a long one would widen its columns.
    if (r.note !== undefined || r.wallMs === undefined)
      return [r.mode, '-', '-', '-', '-', '-', '-'];
    const rate = r.jobs! / (r.wallMs / 1000);
    return [
      r.mode,
      String(r.jobs),
      f3(r.wallMs / 1000),
      rate.toFixed(0),
      makeRate ? `${f2(rate / makeRate)}x` : '-',
      r.profile ? String(r.profile.latency.p50Ms) : '-',
      r.profile ? String(r.profile.latency.p99Ms) : '-',
    ];
  });
  const lines: string[] = [
    '',
    `dispatch: ${jobs}-job layered DAG (${layers} layers, 2 parents per job) of /bin/true, ${slots} slots`,
    '',
    table(['mode', 'jobs', 'wall s', 'jobs/s', `vs ${makeLabel}`, 'p50 ms', 'p99 ms'], body),
    ...rows.filter((r) => r.note !== undefined).map((r) => `  ${r.mode}: ${r.note}`),
    '',
    'wall s: the process from start to exit for make, snakemake, aloft run and engine+agent in one',
    "  process (start-up, reading and planning included); the worker's own measure for node spawn",
    '  (no DAG); `aloft submit --wait` from start to exit for the scheduler row (client start-up,',
    '  the scheduler reading and planning the workflow, the run, the client seeing its end; the',
    '  scheduler and agent were started before). jobs/s = jobs / wall s; p50/p99 ms: ready→running',
    "  from the run's journal.",
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
  const sched = rows.find((r) => r.mode === schedulerLabel);
  if (sched?.costs) {
    const c = sched.costs;
    const per = (s: number): string => f2((s * 1000) / sched.jobs!);
    lines.push(
      '',
      'CPU s per 1,000 jobs (utime+stime, /proc/<pid>/stat, from just before the submit until the workflow ended):',
      `  scheduler ${per(c.scheduler.selfS)}, agent ${per(c.agent.selfS)}, the agent's child processes (launcher, jobs) ${per(c.agent.childrenS)}, nats-server ${per(c.nats.selfS)}`,
      `  RSS at the end: scheduler ${f1(c.schedulerMemory.rssMb)} MB (peak ${f1(c.schedulerMemory.peakRssMb)}), agent ${f1(c.agentMemory.rssMb)} MB (peak ${f1(c.agentMemory.peakRssMb)})`,
    );
  }
  if (sched) {
    if (sched.wallMs === undefined || makeRate === undefined) {
      lines.push('', `budget: not judged (${sched.note ?? `no ${makeLabel} baseline`})`);
    } else {
      const ratio = sched.jobs! / (sched.wallMs / 1000) / makeRate;
      const verdict =
        ratio >= 1 ? 'MET, and beats make (the goal)' : ratio >= 0.6 ? 'MET' : 'MISSED';
      lines.push(
        '',
        `budget (${schedulerLabel} >= 0.6x ${makeLabel}): ${verdict} at ${f2(ratio)}x`,
      );
    }
  }
  return lines;
}

function heartbeatReport(hb: HeartbeatResult | { note: string }): string[] {
  const codec = createProtobufCodec();
  const id = simId(999);
  const subject = subjects.heartbeat(id);
  const idle = codec.encode(subject, idleHeartbeat(id, 17_280)).length;
  const busy = codec.encode(subject, sampleHeartbeat(id, 17_280)).length;
  const lines = [
    '',
    `heartbeat: a real \`aloft scheduler\`; ${hbAgents} simulated idle agents in one process, one NATS connection each,`,
    `  each sending its ad, then a Heartbeat every ${hbIntervalMs} ms (${idle} bytes idle, ${busy} with 2 attempts running;`,
    `  subject ${subject}, ${subject.length} bytes)`,
  ];
  if ('note' in hb) {
    lines.push(`  not measured: ${hb.note}`);
    return lines;
  }
  const window = hb.windowMs / 1000;
  const expected = (hbAgents * 1000) / hbIntervalMs;
  lines.push(
    '',
    table(
      ['agents', 'interval ms', 'window s', 'scheduler CPU %', 'RSS MB', 'heartbeats/s'],
      [
        [
          String(hbAgents),
          String(hbIntervalMs),
          f1(window),
          f2((100 * hb.cpuS) / window),
          f1(hb.memory.rssMb),
          hb.delivered === undefined ? '-' : (hb.delivered / window).toFixed(0),
        ],
      ],
      0,
    ),
    '',
    '  scheduler CPU % = its utime+stime over the window (/proc) / window, of one core; RSS = VmRSS at the',
    `  window's end (peak ${f1(hb.memory.peakRssMb)} MB); heartbeats/s = messages nats-server delivered to the scheduler's`,
    `  connection over the window (/connz; ${expected.toFixed(0)}/s sent). All ${hbAgents} listed ready after ${f1(hb.registerMs / 1000)} s; ${hb.readyAfter} ready after the window.`,
  );
  return lines;
}

async function main(): Promise<number> {
  rmSync(runs, { recursive: true, force: true });
  mkdirSync(runs, { recursive: true });
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  const dagDir = path.join(root, `dag-${jobs}x${layers}`);
  const dag = await writeDagFiles(dagDir, layeredDag({ jobs, layers }), `dispatch${jobs}`);
  process.stderr.write(`DAG: ${jobs} jobs in ${layers} layers, files in ${dagDir}\n`);

  const rows: Row[] = [];
  let hb: HeartbeatResult | { note: string } | undefined;
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
  if (wants('nats') || wants('scheduler') || wants('heartbeat')) {
    if (!existsSync(NATS_SERVER_BIN)) {
      const note = `${NATS_SERVER_BIN} not installed`;
      await step('nats', async () => ({ mode: 'engine+agent in one process (NATS)', note }));
      await step('scheduler', async () => ({ mode: schedulerLabel, note }));
      if (wants('heartbeat')) hb = { note };
    } else {
      const nats = await startNatsServer();
      try {
        await step('nats', () => measureNats(dag, nats.url));
        await step('scheduler', () => measureScheduler(dag, nats));
        if (wants('heartbeat')) {
          process.stderr.write(`measuring heartbeat for ${hbSeconds} s...\n`);
          hb = await measureHeartbeats(nats);
        }
      } finally {
        await nats.stop();
      }
    }
  }

  const lines = rows.length > 0 ? dispatchReport(rows) : [];
  if (hb) lines.push(...heartbeatReport(hb));
  process.stdout.write(lines.join('\n') + '\n');
  const failed = (note: string | undefined): boolean =>
    note !== undefined && !note.endsWith('not installed');
  return rows.some((r) => failed(r.note)) || (hb && 'note' in hb && failed(hb.note)) ? 1 : 0;
}

process.once('SIGINT', () => {
  stopChildren();
  process.exit(130);
});
// Two benches in one --dir would share run directories, scratch and the scheduler's data:
// refuse the second instead of measuring (or hanging on) the mix.
let lock: RunLock;
try {
  lock = await lockRunDir(root);
} catch (e) {
  process.stderr.write(
    `bench/dispatch: ${(e as Error).message} (another bench/dispatch uses ${root}; give it its own --dir)\n`,
  );
  process.exit(2);
}
try {
  process.exitCode = await main();
  await lock.release();
} catch (e) {
  stopChildren();
  process.stderr.write(`bench/dispatch: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
}

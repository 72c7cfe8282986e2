/**
 * bench/dispatch-worker — one measured mode of bench/dispatch, in a process of its own so
 * its CPU and memory are its own. Prints progress lines on stderr and ONE JSON result as the
 * last line of stdout. Not meant to be run by hand; bench/dispatch starts it:
 *
 *   dispatch-worker spawn JOBS INFLIGHT
 *       Node's floor: `child_process.spawn('/bin/true')` JOBS times, INFLIGHT at once.
 *   dispatch-worker nats NATS_URL WORKFLOW RUN_DIR OUTPUT_DIR SLOTS
 *       The engine and one agent in this process, each with its own connection to a real
 *       nats-server, protobuf on the wire (wired like cli/embedded/run-embedded.ts with the
 *       NATS transport; the real two-process path is bench/dispatch's scheduler mode).
 *   dispatch-worker hb-agents NATS_URL AGENTS INTERVAL_MS
 *       AGENTS simulated idle agents, one NATS connection each (connected 50 at a time): an
 *       ad on start (and again whenever the scheduler asks for it on the agent's advertise
 *       subject), then a Heartbeat every INTERVAL_MS, start times spread over the interval.
 *       Prints `ready` once every ad is flushed, then runs until killed.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createAgent } from '../agents/agent/index.js';
import { createLogger } from '../lib/logging/index.js';
import { createNatsTransport, type NatsTransport } from '../lib/transport/index.js';
import { createProtobufCodec } from '../proto/codec/index.js';
import { subjects, type AdvertiseRequestMsg, type Plan } from '../proto/index.js';
import { createEngine } from '../services/engine/index.js';
import { readWorkflow } from '../services/formats/index.js';
import { openJournal } from '../services/journal/index.js';
import { defaultPlanOptions, plan as makePlan, planJsonChunks } from '../services/planner/index.js';
import {
  digestOf,
  dirUrl,
  initRunDir,
  OutputReplicaCatalog,
  RUN_INFO_FORMAT,
  runPaths,
  storeRootUrl,
} from '../services/run/index.js';
import { TRUE_PATH } from './dag.js';
import { idleHeartbeat, simAd, simId } from './dispatch-sim.js';

export interface WorkerResult {
  mode: string;
  jobs: number;
  /** Wall time of the measured part, ms. */
  wallMs: number;
  /** This process's user + system CPU over the measured part, ms. */
  cpuMs: number;
  /** Peak RSS of this process, MB. */
  maxRssMb: number;
  [extra: string]: unknown;
}

const out = (r: WorkerResult): void => {
  process.stdout.write(JSON.stringify(r) + '\n');
};
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const maxRssMb = (): number => process.resourceUsage().maxRSS / 1024;

async function spawnFloor(jobs: number, inflight: number): Promise<void> {
  const t0 = performance.now();
  const c0 = cpuNow();
  let started = 0;
  await new Promise<void>((resolve, reject) => {
    let done = 0;
    const next = (): void => {
      if (started >= jobs) return;
      started++;
      const child = spawn(TRUE_PATH, [], { stdio: 'ignore' });
      child.once('error', reject);
      child.once('exit', (code) => {
        if (code !== 0) reject(new Error(`${TRUE_PATH} exited ${code}`));
        if (++done === jobs) resolve();
        else next();
      });
    };
    for (let i = 0; i < Math.min(inflight, jobs); i++) next();
  });
  out({
    mode: 'spawn',
    jobs,
    wallMs: performance.now() - t0,
    cpuMs: cpuNow() - c0,
    maxRssMb: maxRssMb(),
  });
}

/** Every site the plan runs or stores anything at (as the embedded mode's agent serves). */
function sitesOf(plan: Plan): string[] {
  const sites = new Set<string>([plan.options.outputSite]);
  for (const j of plan.jobs) sites.add(j.site);
  for (const s of Object.keys(plan.stores)) sites.add(s);
  return [...sites].sort();
}

async function natsRun(
  url: string,
  workflow: string,
  runDir: string,
  outputDir: string,
  slots: number,
): Promise<void> {
  const t0 = performance.now();
  const c0 = cpuNow();
  const signal = new AbortController().signal;
  const logger = createLogger({ level: process.env['ALOFT_LOG_LEVEL'] ?? 'warn' });
  const loaded = await readWorkflow(workflow, { signal });
  const plan = makePlan(
    loaded,
    defaultPlanOptions({
      cleanup: 'none',
      storeRoot: storeRootUrl(runDir),
      outputUrl: dirUrl(outputDir),
    }),
  );
  const digest = digestOf(planJsonChunks(plan));
  mkdirSync(runDir, { recursive: true });
  mkdirSync(outputDir, { recursive: true });
  await initRunDir(
    runDir,
    planJsonChunks(plan),
    {
      format: RUN_INFO_FORMAT,
      runId: path.basename(runDir),
      workflow: { path: path.resolve(workflow), name: loaded.workflow.name },
      created: new Date().toISOString(),
      outputDir,
      options: plan.options,
      planDigest: digest,
    },
    { signal },
  );
  const paths = runPaths(runDir);
  mkdirSync(paths.agent, { recursive: true });
  const tPlanned = performance.now();
  const journal = await openJournal(runDir, { signal, logger });
  const agentId = 'bench-agent';
  const schedulerNats = await createNatsTransport({
    servers: url,
    name: 'bench-scheduler',
    codec: createProtobufCodec(),
    logger,
  });
  const agentNats = await createNatsTransport({
    servers: url,
    name: agentId,
    codec: createProtobufCodec(),
    logger,
  });
  const sites = sitesOf(plan);
  const agent = createAgent({
    id: agentId,
    site: sites.includes('local') ? 'local' : (sites[0] ?? 'local'),
    sites,
    transport: agentNats,
    workDir: paths.agent,
    slots,
    logger,
  });
  const engine = createEngine({
    plan,
    journal,
    transport: schedulerNats,
    runId: path.basename(runDir).replace(/[^A-Za-z0-9_-]/g, '_'),
    planDigest: digest,
    outputReplicas: OutputReplicaCatalog.open(paths.outputReplicas),
    logger,
  });
  let state;
  try {
    const ended = engine.run(signal);
    await agent.start();
    state = await ended;
  } finally {
    await agent.stop({ graceMs: 0 });
    await journal.close();
    await agentNats.close();
    await schedulerNats.close();
  }
  if (state !== 'succeeded') throw new Error(`the run ended ${state}; see ${runDir}`);
  out({
    mode: 'nats',
    jobs: plan.jobs.length,
    wallMs: performance.now() - t0,
    cpuMs: cpuNow() - c0,
    maxRssMb: maxRssMb(),
    planMs: tPlanned - t0,
  });
}

async function heartbeatAgents(url: string, agents: number, intervalMs: number): Promise<void> {
  const conns: NatsTransport[] = [];
  // Connect a few at a time: 1,000 sequential handshakes take long, 1,000 at once flood.
  for (let i = 0; i < agents; i += 50) {
    const batch = Array.from({ length: Math.min(50, agents - i) }, (_, k) =>
      createNatsTransport({ servers: url, name: simId(i + k), codec: createProtobufCodec() }),
    );
    conns.push(...(await Promise.all(batch)));
  }
  conns.forEach((t, i) => {
    const id = simId(i);
    // A scheduler that hears a heartbeat from an agent it has no ad for asks for one.
    t.subscribe<AdvertiseRequestMsg>(subjects.advertise(id), () =>
      t.publish(subjects.ad(id), simAd(id)),
    );
    t.publish(subjects.ad(id), simAd(id));
  });
  await Promise.all(conns.map((t) => t.flush()));
  process.stdout.write('ready\n');
  conns.forEach((t, i) => {
    const id = simId(i);
    let seq = 0;
    // Idle: a heartbeat naming attempts no scheduler gave out would make it send kills.
    const beat = (): void => t.publish(subjects.heartbeat(id), idleHeartbeat(id, ++seq));
    // Spread the agents over the interval, as independent machines would be.
    setTimeout(
      () => {
        beat();
        setInterval(beat, intervalMs);
      },
      Math.floor((i * intervalMs) / agents),
    );
  });
  // Runs until bench/dispatch stops it by pid.
  await new Promise<never>(() => undefined);
}

const [mode, ...args] = process.argv.slice(2);
const arg = (i: number): string => {
  const v = args[i];
  if (v === undefined) throw new Error(`dispatch-worker ${mode}: missing argument ${i + 1}`);
  return v;
};
switch (mode) {
  case 'spawn':
    await spawnFloor(Number(arg(0)), Number(arg(1)));
    break;
  case 'nats':
    await natsRun(arg(0), arg(1), arg(2), arg(3), Number(arg(4)));
    break;
  case 'hb-agents':
    await heartbeatAgents(arg(0), Number(arg(1)), Number(arg(2)));
    break;
  default:
    throw new Error(`dispatch-worker: unknown mode '${mode}' (spawn, nats, hb-agents)`);
}
// Measured and printed: leave now rather than wait for stray timers of closed clients.
process.exit(0);

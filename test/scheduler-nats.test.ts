/**
 * The scheduler over a real nats-server with real agents (createAgent on NATS transports
 * with the protobuf codec, in this process; heartbeats by a small loop standing in for the
 * agent daemon). Every assertion about attempts is made from the journal.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, type Agent } from '../agents/agent/index.js';
import { loadWorkflowForCli } from '../cli/load-workflow.js';
import { runEmbedded } from '../cli/embedded/index.js';
import { createNatsTransport, type NatsTransport } from '../lib/transport/index.js';
import { createProtobufCodec, type Heartbeat } from '../proto/codec/index.js';
import { subjects, type AttemptResultMsg, type ResultAck } from '../proto/index.js';
import { readJournalSync, type JournalEvent } from '../services/journal/index.js';
import { defaultPlanOptions } from '../services/planner/index.js';
import { createScheduler, type Scheduler } from '../services/scheduler/index.js';
import { REPO } from './helpers/cli.js';
import { natsServerAvailable, startNatsServer, type NatsServer } from './helpers/nats-server.js';

const LEASE = 1500;
const HEARTBEAT = 200;

interface TestAgent {
  id: string;
  agent: Agent;
  transport: NatsTransport;
  /** Heartbeats on/off (off = the scheduler hears nothing, as in a network cut). */
  beating: boolean;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, test: () => boolean, ms = 20_000): Promise<void> {
  for (let waited = 0; !test(); waited += 50) {
    if (waited > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const silent = (): Writable =>
  new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });

describe.skipIf(!natsServerAvailable)('scheduler over NATS', () => {
  let server: NatsServer;
  let tmp: string;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-sched-'));
  });

  // Each test's scheduler and agents go before the next test: two schedulers on one NATS
  // server would both hear every result.
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  afterAll(async () => {
    await server?.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const connect = (name: string): Promise<NatsTransport> =>
    createNatsTransport({
      servers: server.url,
      name,
      codec: createProtobufCodec(),
      reconnectWaitMs: 100,
      reconnectJitterMs: 50,
    });

  async function startAgent(
    id: string,
    site: string,
    sites: string[],
    slots = 2,
  ): Promise<TestAgent> {
    const transport = await connect(id);
    const agent = createAgent({
      id,
      site,
      sites,
      transport,
      workDir: path.join(tmp, 'agents', id),
      slots,
      resultRetryMs: 300,
    });
    let seq = 0;
    const t: TestAgent = {
      id,
      agent,
      transport,
      beating: true,
      async stop() {
        clearInterval(timer);
        await agent.stop({ graceMs: 0 }).catch(() => undefined);
        await transport.close().catch(() => undefined);
      },
    };
    const timer = setInterval(() => {
      if (!t.beating) return;
      const hb: Heartbeat = {
        agent: id,
        seq: ++seq,
        running: agent.running(),
        slotsInUse: agent.running().length,
        diskFreeMb: 10_000,
      };
      try {
        transport.publish(subjects.heartbeat(id), hb);
      } catch {
        // transport closed by the test
      }
    }, HEARTBEAT);
    cleanups.push(() => t.stop());
    return t;
  }

  async function startScheduler(dataDir: string): Promise<Scheduler> {
    const transport = await connect('scheduler');
    const s = createScheduler({
      dataDir,
      transport,
      leases: { defaultMs: LEASE, sites: { edge: LEASE * 2 } },
      offerTimeoutMs: 3000,
      retryDelayMs: 50,
    });
    await s.start();
    const stop = async (): Promise<void> => {
      await s.stop();
      await transport.close();
    };
    cleanups.push(stop);
    (s as Scheduler & { close: () => Promise<void> }).close = stop;
    return s;
  }

  /** One workflow: `n` independent jobs running /bin/sleep `secs`. */
  async function sleepWorkflow(name: string, n: number, secs: number): Promise<string> {
    const jobs = Array.from(
      { length: n },
      (_, i) =>
        `  - type: job\n    name: nap\n    id: ${name}${i}\n    arguments: ["${secs}"]\n    uses: []\n`,
    ).join('');
    const yaml =
      `pegasus: "5.0.4"\nname: ${name}\n` +
      `transformationCatalog:\n  transformations:\n    - name: nap\n      sites:\n        - name: local\n          pfn: /bin/sleep\n          type: installed\n` +
      `jobs:\n${jobs}jobDependencies: []\n`;
    const file = path.join(tmp, `${name}.yml`);
    await writeFile(file, yaml);
    return file;
  }

  const load = (file: string) =>
    loadWorkflowForCli(file, {}, { cwd: tmp, env: {}, signal: new AbortController().signal });

  const journalOf = (s: Scheduler, id: string): JournalEvent[] =>
    readJournalSync(s.status(id).runDir);

  function oneCompletionPerJob(events: JournalEvent[]): void {
    const succeeded = new Map<string, number>();
    for (const e of events) {
      if (e.type === 'job_succeeded') succeeded.set(e.job, (succeeded.get(e.job) ?? 0) + 1);
    }
    for (const n of succeeded.values()) expect(n).toBe(1);
  }

  it('runs radar on three agents at two sites to the outputs `aloft run` produces', async () => {
    const a = await startAgent('local-1', 'local', []);
    const b = await startAgent('local-2', 'local', []);
    const c = await startAgent('edge-1', 'edge', ['local']);
    const s = await startScheduler(path.join(tmp, 'data-radar'));
    await Promise.all([a.agent.start(), b.agent.start(), c.agent.start()]);
    const workflow = path.join(REPO, 'examples', 'radar', 'workflow.yml');
    const loaded = await loadWorkflowForCli(
      workflow,
      {},
      {
        cwd: path.join(REPO, 'examples', 'radar'),
        env: {},
        signal: new AbortController().signal,
      },
    );
    const out = path.join(tmp, 'radar-out');
    const id = await s.submit(loaded, defaultPlanOptions(), { outputDir: out });
    expect(await s.wait(id)).toBe('succeeded');
    expect(s.status(id).state).toBe('succeeded');
    const events = journalOf(s, id);
    oneCompletionPerJob(events);
    const agentsUsed = new Set(
      events.flatMap((e) => (e.type === 'attempt_started' ? [e.agent] : [])),
    );
    expect(agentsUsed.size).toBeGreaterThan(1);
    const agents = s.listAgents();
    expect(agents.map((x) => x.agent)).toEqual(['edge-1', 'local-1', 'local-2']);
    expect(agents.find((x) => x.agent === 'edge-1')?.leaseMs).toBe(LEASE * 2);
    for (const x of agents) expect(x.state).toBe('ready');

    // The same workflow through the embedded `aloft run` path: identical outputs.
    const cwd = await mkdtemp(path.join(tmp, 'embedded-'));
    const code = await runEmbedded({
      loaded,
      planOptions: defaultPlanOptions(),
      outputDir: 'outputs',
      slots: 2,
      signal: new AbortController().signal,
      stdout: silent(),
      stderr: silent(),
      workflowPath: workflow,
      cwd,
      env: {},
    });
    expect(code).toBe(0);
    for (const f of ['accumulation.csv', 'alerts.txt']) {
      expect(await readFile(path.join(out, f), 'utf8')).toBe(
        await readFile(path.join(cwd, 'outputs', f), 'utf8'),
      );
    }
  }, 120_000);

  it('an agent cut off mid-job is lost after its lease; its attempt is rescheduled', async () => {
    const a = await startAgent('cut-1', 'local', [], 1);
    const s = await startScheduler(path.join(tmp, 'data-cut'));
    await a.agent.start();
    const id = await s.submit(await load(await sleepWorkflow('cut', 1, 2)), defaultPlanOptions(), {
      outputDir: path.join(tmp, 'cut-out'),
    });
    await until('the attempt to start', () => a.agent.running().length === 1);
    // Gone: its connection closes mid-job (its result can never arrive).
    a.beating = false;
    await a.transport.close();
    const b = await startAgent('cut-2', 'local', [], 1);
    await b.agent.start();
    expect(await s.wait(id)).toBe('succeeded');
    const events = journalOf(s, id);
    oneCompletionPerJob(events);
    const finished = events.filter((e) => e.type === 'attempt_finished');
    expect(finished).toHaveLength(2);
    expect(finished[0]).toMatchObject({
      attempt: 1,
      ok: false,
      failure: { kind: 'infrastructure' },
    });
    expect(finished[1]).toMatchObject({ attempt: 2, ok: true });
    const started = events.filter((e) => e.type === 'attempt_started');
    expect(started.map((e) => (e.type === 'attempt_started' ? e.agent : ''))).toEqual([
      'cut-1',
      'cut-2',
    ]);
    expect(s.listAgents().find((x) => x.agent === 'cut-1')?.state).toBe('lost');
    // The lost attempt spent no retry.
    const retry = events.find((e) => e.type === 'job_retry');
    expect(retry).toMatchObject({ failure: { kind: 'infrastructure' } });
    await a.agent.stop({ graceMs: 0 });
  }, 60_000);

  it('silent for less than its lease: no reschedule, the result is accepted once', async () => {
    const a = await startAgent('short-1', 'local', [], 1);
    const s = await startScheduler(path.join(tmp, 'data-short'));
    await a.agent.start();
    const id = await s.submit(
      await load(await sleepWorkflow('short', 1, 2)),
      defaultPlanOptions(),
      {
        outputDir: path.join(tmp, 'short-out'),
      },
    );
    await until('the attempt to start', () => a.agent.running().length === 1);
    a.beating = false;
    await sleep(LEASE / 2);
    a.beating = true;
    expect(await s.wait(id)).toBe('succeeded');
    const events = journalOf(s, id);
    oneCompletionPerJob(events);
    expect(events.filter((e) => e.type === 'attempt_started')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'attempt_finished')).toMatchObject([{ ok: true }]);
  }, 60_000);

  it('silent for longer: rescheduled, the orphan killed on return, its late result rejected', async () => {
    const a = await startAgent('long-1', 'local', [], 1);
    const s = await startScheduler(path.join(tmp, 'data-long'));
    await a.agent.start();
    const id = await s.submit(await load(await sleepWorkflow('long', 1, 4)), defaultPlanOptions(), {
      outputDir: path.join(tmp, 'long-out'),
    });
    await until('the attempt to start', () => a.agent.running().length === 1);
    const first = a.agent.running()[0]!;
    a.beating = false;
    await until('the agent to be lost', () => s.listAgents()[0]?.state === 'lost');
    const b = await startAgent('long-2', 'local', [], 1);
    await b.agent.start();
    await until('the job to run again', () => b.agent.running().length === 1);
    // Back: its heartbeat names the old attempt, which is killed.
    a.beating = true;
    await until('the orphan to be killed', () => a.agent.running().length === 0, 10_000);
    expect(await s.wait(id)).toBe('succeeded');
    const events = journalOf(s, id);
    oneCompletionPerJob(events);
    const old = events.filter(
      (e) =>
        e.type === 'attempt_finished' && e.epoch === first.epoch && e.attempt === first.attempt,
    );
    // Journaled once, as lost; the agent's own (cancelled) result was acked and dropped.
    expect(old).toHaveLength(1);
    expect(old[0]).toMatchObject({ ok: false, failure: { kind: 'infrastructure' } });
    expect(events.filter((e) => e.type === 'job_succeeded')).toMatchObject([{ attempt: 2 }]);
  }, 60_000);

  it('a duplicated result gives one completion and is acked again', async () => {
    const a = await startAgent('dup-1', 'local', [], 1);
    const s = await startScheduler(path.join(tmp, 'data-dup'));
    const spy = await connect('spy');
    cleanups.push(() => spy.close());
    const results: AttemptResultMsg[] = [];
    const acks: ResultAck[] = [];
    spy.subscribe<AttemptResultMsg>(subjects.attemptResult('dup-1'), (m) => results.push(m.data));
    spy.subscribe<ResultAck>(subjects.ack('dup-1'), (m) => acks.push(m.data));
    await a.agent.start();
    const id = await s.submit(await load(await sleepWorkflow('dup', 1, 0)), defaultPlanOptions(), {
      outputDir: path.join(tmp, 'dup-out'),
    });
    expect(await s.wait(id)).toBe('succeeded');
    await until('the result to be seen', () => results.length >= 1 && acks.length >= 1);
    const before = acks.length;
    // The agent resends (e.g. it missed the ack): two more copies of the same result.
    spy.publish(subjects.attemptResult('dup-1'), results[0]);
    spy.publish(subjects.attemptResult('dup-1'), results[0]);
    await until('the copies to be acked', () => acks.length >= before + 2, 5000);
    const events = journalOf(s, id);
    expect(events.filter((e) => e.type === 'attempt_finished')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'job_succeeded')).toHaveLength(1);
  }, 60_000);

  it('after a scheduler restart, running attempts are re-adopted, not rerun', async () => {
    const a = await startAgent('re-1', 'local', [], 2);
    const dataDir = path.join(tmp, 'data-restart');
    const s1 = await startScheduler(dataDir);
    await a.agent.start();
    const id = await s1.submit(await load(await sleepWorkflow('re', 2, 3)), defaultPlanOptions(), {
      outputDir: path.join(tmp, 're-out'),
    });
    await until('both attempts to start', () => a.agent.running().length === 2);
    await (s1 as Scheduler & { close: () => Promise<void> }).close();
    const s2 = await startScheduler(dataDir);
    expect(s2.list().map((w) => w.id)).toEqual([id]);
    expect(await s2.wait(id)).toBe('succeeded');
    const events = readJournalSync(s2.status(id).runDir);
    oneCompletionPerJob(events);
    expect(events.filter((e) => e.type === 'attempt_started')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'attempt_finished')).toMatchObject([
      { ok: true, attempt: 1 },
      { ok: true, attempt: 1 },
    ]);
    expect(events.filter((e) => e.type === 'run_started')).toMatchObject([
      { resumed: false },
      { resumed: true },
    ]);
  }, 60_000);
});

/**
 * The scheduler's operator features through the real thing, over a real nats-server:
 *
 * 1. In-process scheduler with its gRPC control API, in-process agents (createAgent on NATS
 *    transports; heartbeats from one loop, as the agent daemon would send them) — where a
 *    test needs an agent's executor to fail, or agents to vanish at the same instant:
 *    - quarantine: an agent whose attempts keep failing with infrastructure failures is
 *      quarantined after N within the window, its jobs run elsewhere, it is ready again
 *      after the period;
 *    - mass loss: most agents vanish at once, rescheduling is held (nothing rescheduled),
 *      an alert is logged, `aloft agents` shows the hold, `aloft agents --release-hold`
 *      releases it and the workflow completes.
 * 2. Real `aloft scheduler` and `aloft agent` processes and the CLI:
 *    - `aloft agents --json` carries each agent's whole ad; the table shows free disk;
 *    - `aloft analyze ID` names the requirement no agent satisfies for idle jobs (label
 *      selector, memory, arch from the transformation catalog) and how many agents match
 *      each requirement;
 *    - `aloft agents --drain ID`: no new offers to the agent, its running attempt finishes.
 * Assertions about attempts come from the journal; nothing asserts wall-clock times.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, type Agent } from '../agents/agent/index.js';
import { emptyOutcome, type Executor } from '../agents/executors/index.js';
import { loadWorkflowForCli } from '../cli/load-workflow.js';
import { createLogger } from '../lib/logging/index.js';
import { createNatsTransport, type NatsTransport } from '../lib/transport/index.js';
import { createProtobufCodec, type Heartbeat, type ListAgentsReply } from '../proto/codec/index.js';
import { subjects, type Offer } from '../proto/index.js';
import { normalizeArch } from '../services/broker/index.js';
import { createControlServer, type ControlServer } from '../services/control/index.js';
import { readJournalSync, type JournalEvent } from '../services/journal/index.js';
import { defaultPlanOptions } from '../services/planner/index.js';
import {
  createScheduler,
  type Scheduler,
  type SchedulerOptions,
} from '../services/scheduler/index.js';
import { BIN, aloft } from './helpers/cli.js';
import {
  controlClient,
  startAgentDaemon,
  startSchedulerDaemon,
  type Daemon,
} from './helpers/daemon.js';
import { natsServerAvailable, startNatsServer, type NatsServer } from './helpers/nats-server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, test: () => boolean | Promise<boolean>, ms = 30_000) {
  for (let waited = 0; !(await test()); waited += 100) {
    if (waited > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface JobSpec {
  id: string;
  args: string[];
  /** Transformation (default `t`, /bin/sleep on local). */
  transformation?: string;
  profiles?: Record<string, Record<string, string>>;
  parents?: string[];
}

/** A Pegasus 5 workflow file of /bin/sleep jobs; `arm` is /bin/sleep built for `armArch`. */
async function writeWorkflow(
  dir: string,
  name: string,
  jobs: JobSpec[],
  armArch = 'aarch64',
): Promise<string> {
  const doc = {
    pegasus: '5.0.4',
    name,
    transformationCatalog: {
      transformations: [
        { name: 't', sites: [{ name: 'local', pfn: '/bin/sleep', type: 'installed' }] },
        {
          name: 'arm',
          sites: [
            {
              name: 'local',
              pfn: '/bin/sleep',
              type: 'installed',
              arch: armArch,
              'os.type': 'linux',
            },
          ],
        },
      ],
    },
    jobs: jobs.map((j) => ({
      type: 'job',
      name: j.transformation ?? 't',
      id: j.id,
      arguments: j.args,
      uses: [],
      ...(j.profiles ? { profiles: j.profiles } : {}),
    })),
    jobDependencies: jobs.flatMap((j) =>
      (j.parents ?? []).map((p) => ({ id: p, children: [j.id] })),
    ),
  };
  const file = path.join(dir, `${name}.yml`);
  // JSON is YAML.
  await writeFile(file, JSON.stringify(doc, null, 2));
  return file;
}

const count = (events: JournalEvent[], f: (e: JournalEvent) => boolean): number =>
  events.filter(f).length;

function oneCompletionPerJob(events: JournalEvent[], jobs: string[]): void {
  for (const job of jobs) {
    expect(
      count(events, (e) => e.type === 'job_succeeded' && e.job === job),
      job,
    ).toBe(1);
  }
}

function startedOn(events: JournalEvent[]): { job: string; agent: string; seq: number }[] {
  return events.flatMap((e) =>
    e.type === 'attempt_started' ? [{ job: e.job, agent: e.agent, seq: e.seq }] : [],
  );
}

// ============================================================================ in-process

describe.skipIf(!natsServerAvailable || !existsSync(BIN))(
  'scheduler features: in-process scheduler and agents over NATS, control CLI',
  () => {
    let nats: NatsServer;
    let tmp: string;
    const cleanups: (() => Promise<void>)[] = [];

    beforeAll(async () => {
      nats = await startNatsServer();
      tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-features-'));
    });
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    });
    afterAll(async () => {
      await nats?.dispose();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    const connect = (name: string): Promise<NatsTransport> =>
      createNatsTransport({
        servers: nats.url,
        name,
        codec: createProtobufCodec(),
        reconnectWaitMs: 100,
        reconnectJitterMs: 50,
      });

    interface TestAgent {
      id: string;
      agent: Agent;
      transport: NatsTransport;
      beating: boolean;
    }

    /**
     * Agents of one test. Their heartbeats go out from ONE timer over ONE connection every
     * 200 ms (one batch per tick): agents silenced in the same tick were last heard at the
     * same moment, so they vanish together — the scheduler finds them lost in one sweep.
     */
    async function fleet() {
      const members: TestAgent[] = [];
      const seq = new Map<string, number>();
      const beats = await connect('heartbeats');
      const timer = setInterval(() => {
        for (const t of members) {
          if (!t.beating) continue;
          const running = t.agent.running();
          const hb: Heartbeat = {
            agent: t.id,
            seq: (seq.get(t.id) ?? 0) + 1,
            running,
            slotsInUse: running.length,
            diskFreeMb: 10_000,
          };
          seq.set(t.id, hb.seq);
          beats.publish(subjects.heartbeat(t.id), hb);
        }
      }, 200);
      cleanups.push(async () => {
        clearInterval(timer);
        for (const t of members) {
          await t.agent.stop({ graceMs: 0 }).catch(() => undefined);
          await t.transport.close().catch(() => undefined);
        }
        await beats.close();
      });
      return {
        async add(id: string, slots: number, executors: { process?: Executor } = {}) {
          const transport = await connect(id);
          const agent = createAgent({
            id,
            site: 'local',
            sites: [],
            transport,
            workDir: path.join(tmp, 'agents', id),
            slots,
            resultRetryMs: 300,
            executors,
          });
          const t: TestAgent = { id, agent, transport, beating: true };
          members.push(t);
          await agent.start();
          return t;
        },
      };
    }

    /** An in-process scheduler with its control API on a free port; the CLI's address. */
    async function startScheduler(
      name: string,
      more: Partial<SchedulerOptions> = {},
    ): Promise<{ s: Scheduler; addr: string; dataDir: string }> {
      const dataDir = path.join(tmp, `data-${name}`);
      const transport = await connect(`scheduler-${name}`);
      const s = createScheduler({
        dataDir,
        transport,
        leases: { defaultMs: 1500 },
        offerTimeoutMs: 3000,
        retryDelayMs: 50,
        ...more,
      });
      await s.start();
      const control: ControlServer = createControlServer({
        scheduler: s,
        dataDir,
        loadWorkflow: (f, catalogs, signal) =>
          loadWorkflowForCli(f, catalogs, { cwd: path.dirname(f), env: {}, signal }),
      });
      const addr = await control.listen('127.0.0.1:0');
      cleanups.push(async () => {
        await control.stop(1000);
        await s.stop();
        await transport.close();
      });
      return { s, addr, dataDir };
    }

    const cli = (addr: string, args: string[]) =>
      aloft([...args, '--scheduler', addr], { env: { ALOFT_SCHEDULER: '', ALOFT_TOKEN: '' } });

    async function agentsJson(addr: string): Promise<ListAgentsReply> {
      const r = await cli(addr, ['agents', '--json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as ListAgentsReply;
    }

    const load = (file: string) =>
      loadWorkflowForCli(file, {}, { cwd: tmp, env: {}, signal: new AbortController().signal });

    it('an agent failing attempts for infrastructure reasons is quarantined, its jobs run elsewhere, then it is ready again', async () => {
      const THRESHOLD = 2;
      const { s, addr } = await startScheduler('quarantine', {
        quarantine: { failures: THRESHOLD, windowMs: 60_000, periodMs: 12_000 },
      });
      // Its process executor cannot run anything: every attempt is an infrastructure failure.
      const broken: Executor = {
        name: 'process',
        run: async (ctx) => ({
          ...emptyOutcome('process', [ctx.job.executable?.pfn ?? '', ...(ctx.job.args ?? [])]),
          failure: { kind: 'infrastructure', message: 'scratch volume unavailable (injected)' },
        }),
      };
      const agents = await fleet();
      await agents.add('bad-1', 1, { process: broken });
      await until('bad-1 to advertise', () => s.listAgents().some((a) => a.agent === 'bad-1'));
      const jobs = ['q0', 'q1', 'q2', 'q3'];
      const file = await writeWorkflow(
        tmp,
        'quarantine',
        jobs.map((id) => ({ id, args: ['0.2'] })),
      );
      const id = await s.submit(await load(file), defaultPlanOptions(), {
        outputDir: path.join(tmp, 'quarantine-out'),
      });
      await until(
        'bad-1 to be quarantined',
        () => s.listAgents().find((a) => a.agent === 'bad-1')?.state === 'quarantined',
      );
      const seen = await agentsJson(addr);
      expect(seen.agents.find((a) => a.ad.agent === 'bad-1')?.state).toBe('quarantined');

      await agents.add('good-1', 2);
      expect(await s.wait(id)).toBe('succeeded');
      const events = readJournalSync(s.status(id).runDir);
      oneCompletionPerJob(events, jobs);
      // Exactly THRESHOLD attempts reached the broken agent: the failure that tripped the
      // quarantine was counted before any more work was placed there.
      const onBad = startedOn(events).filter((a) => a.agent === 'bad-1');
      expect(onBad).toHaveLength(THRESHOLD);
      const failed = events.filter((e) => e.type === 'attempt_finished' && !e.ok);
      expect(failed).toHaveLength(THRESHOLD);
      for (const f of failed) {
        expect(f).toMatchObject({
          failure: { kind: 'infrastructure' },
          record: { agent: 'bad-1' },
        });
      }
      // Every job completed on the healthy agent; no retry was spent on the agent's fault.
      for (const e of events) {
        if (e.type === 'attempt_finished' && e.ok) expect(e.record.agent).toBe('good-1');
        if (e.type === 'job_retry') expect(e.failure.kind).toBe('infrastructure');
      }

      // The quarantine period ends: ready again (judged on the scheduler's clock).
      await until(
        'bad-1 to be ready again',
        () => s.listAgents().find((a) => a.agent === 'bad-1')?.state === 'ready',
      );
      const after = await agentsJson(addr);
      expect(after.agents.map((a) => [a.ad.agent, a.state])).toEqual([
        ['bad-1', 'ready'],
        ['good-1', 'ready'],
      ]);
    }, 90_000);

    it('most agents vanishing at once holds rescheduling and alerts until an operator releases it', async () => {
      const lines: string[] = [];
      const logger = createLogger({
        level: 'warn',
        destination: { write: (s: string) => lines.push(s) } as never,
      });
      const { s, addr } = await startScheduler('massloss', { logger });
      const agents = await fleet();
      const [m1, m2, m3] = [
        await agents.add('m1', 1),
        await agents.add('m2', 1),
        await agents.add('m3', 1),
      ];
      await until('three agents', () => s.listAgents().length === 3);
      const jobs = ['x0', 'x1', 'x2'];
      const file = await writeWorkflow(
        tmp,
        'massloss',
        jobs.map((id) => ({ id, args: ['2'] })),
      );
      const id = await s.submit(await load(file), defaultPlanOptions(), {
        outputDir: path.join(tmp, 'massloss-out'),
      });
      await until('every agent to run a job', () =>
        [m1, m2, m3].every((t) => t!.agent.running().length === 1),
      );
      const runDir = s.status(id).runDir;
      const gone = [m1!, m2!];
      const goneJobs = gone.map((t) => t.agent.running()[0]!.job);
      // Two of three agents vanish in the same instant: their heartbeats stop in the same
      // tick and their own connections drop (no result of theirs can arrive).
      for (const t of gone) t.beating = false;
      await Promise.all(gone.map((t) => t.transport.close()));

      await until('the hold', () => s.hold().held);
      expect(s.hold().agents.sort()).toEqual(['m1', 'm2']);
      const alert = lines
        .map(
          (l) => JSON.parse(l) as { level: number; alert?: string; agents?: string[]; msg: string },
        )
        .find((l) => l.alert === 'mass-loss');
      expect(alert).toMatchObject({ level: 50, agents: expect.any(Array) });
      expect(alert!.msg).toMatch(/2 of 3 agents \(67%\) lost within 60 s: rescheduling/);

      // `aloft agents` shows the hold and how to release it.
      const table = await cli(addr, ['agents']);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toContain(
        'rescheduling held: 2 agents lost at once (m1, m2); release with `aloft agents --release-hold`',
      );
      expect(table.stdout).toMatch(/^m1\s.*\slost$/m);
      const json = await agentsJson(addr);
      expect(json.hold).toMatchObject({ held: true, agents: ['m1', 'm2'] });

      // Held: their attempts are neither journaled lost nor started again, however many
      // sweeps pass (m3's own job goes on and completes).
      await until('m3 to finish its job', () =>
        readJournalSync(runDir).some((e) => e.type === 'job_succeeded'),
      );
      await agentsJson(addr); // a few more sweeps go by
      let events = readJournalSync(runDir);
      expect(count(events, (e) => e.type === 'attempt_finished' && !e.ok)).toBe(0);
      expect(startedOn(events)).toHaveLength(3);

      const release = await cli(addr, ['agents', '--release-hold']);
      expect(release.code, release.stderr).toBe(0);
      expect(release.stdout).toBe(
        'hold released: the attempts of 2 lost agents (m1, m2) are rescheduled\n',
      );
      expect(await s.wait(id)).toBe('succeeded');
      events = readJournalSync(runDir);
      oneCompletionPerJob(events, jobs);
      // The held attempts were journaled lost (infrastructure) and ran again on m3.
      const lost = events.filter((e) => e.type === 'attempt_finished' && !e.ok);
      expect(lost.map((e) => (e.type === 'attempt_finished' ? e.job : '')).sort()).toEqual(
        [...goneJobs].sort(),
      );
      for (const e of lost) expect(e).toMatchObject({ failure: { kind: 'infrastructure' } });
      gone.forEach((t, i) => {
        const job = goneJobs[i]!;
        expect(
          startedOn(events)
            .filter((a) => a.job === job)
            .map((a) => a.agent),
        ).toEqual([t.id, 'm3']);
      });
      expect((await agentsJson(addr)).hold).toBeUndefined();
      const again = await cli(addr, ['agents', '--release-hold']);
      expect(again.stdout).toBe('nothing is held\n');
    }, 90_000);
  },
);

// ============================================================================ processes

describe.skipIf(!natsServerAvailable || !existsSync(BIN))(
  'scheduler features: real aloft scheduler and agents, control CLI',
  () => {
    const TOKEN = 'features-test-token';
    let nats: NatsServer;
    let tmp: string;
    let sched: Daemon | undefined;
    let addr: string;
    const agents: Daemon[] = [];
    /** An architecture no agent here has. */
    const otherArch = normalizeArch(os.arch()) === 'aarch64' ? 'ppc64le' : 'aarch64';

    const client = controlClient(() => addr, TOKEN);

    beforeAll(async () => {
      nats = await startNatsServer();
      tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-features-proc-'));
      const s = await startSchedulerDaemon({
        natsUrl: nats.url,
        dataDir: path.join(tmp, 'data'),
        token: TOKEN,
        flags: ['--lease', '5s'],
      });
      sched = s.daemon;
      addr = s.address;
      const agent = (id: string, more: string[]) =>
        startAgentDaemon({
          natsUrl: nats.url,
          id,
          site: 'local',
          workDir: path.join(tmp, 'agents', id),
          flags: ['--slots', '2', ...more],
        });
      agents.push(
        ...(await Promise.all([
          agent('a1', ['--labels', 'zone=a,tier=gold', '--gpus', '1']),
          agent('a2', ['--labels', 'zone=b']),
        ])),
      );
      await until('both agents to register', async () => {
        const r = await client(['agents', '--json']);
        return r.code === 0 && (JSON.parse(r.stdout) as ListAgentsReply).agents.length === 2;
      });
    }, 90_000);

    afterAll(async () => {
      for (const a of agents) await a.stop();
      await sched?.stop();
      await nats?.dispose();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    }, 90_000);

    const journal = (id: string): JournalEvent[] => {
      const dir = path.join(tmp, 'data', 'runs', id);
      return existsSync(path.join(dir, 'journal.jsonl')) ? readJournalSync(dir) : [];
    };

    it('aloft agents: every agent with its whole ad in --json, free disk in the table', async () => {
      const r = await client(['agents', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const reply = JSON.parse(r.stdout) as ListAgentsReply;
      const byId = new Map(reply.agents.map((a) => [a.ad.agent, a]));
      const a1 = byId.get('a1')!;
      const a2 = byId.get('a2')!;
      expect(a1.ad.labels).toEqual({ zone: 'a', tier: 'gold' });
      expect(a2.ad.labels).toEqual({ zone: 'b' });
      expect(a1.ad.gpus).toBe(1);
      for (const a of [a1, a2]) {
        expect(a.ad.executors).toEqual(
          expect.arrayContaining(['process', 'synthetic', 'transfer', 'cleanup']),
        );
        expect(a.ad.diskFreeMb).toBeGreaterThan(0);
        expect(normalizeArch(a.ad.arch!)).toBe(normalizeArch(os.arch()));
        expect(a.ad.os).toBe(os.platform());
        expect(a.ad.cores).toBeGreaterThan(0);
        expect(a.ad.memoryMb).toBeGreaterThan(0);
        expect(a.state).toBe('ready');
      }
      expect(reply.hold).toBeUndefined();
      const table = await client(['agents']);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/^AGENT\s+SITES\s+HOST\s+CORES\s+MEMORY\s+DISK\s+SLOTS/);
      // The disk column: the agent's free disk, as "N MB" or "N.N GB".
      expect(table.stdout).toMatch(/^a1\s+local\s+\S+\s+\d+\s+\d+ MB\s+[\d.]+ [MG]B\s+0\/2\s/m);
      expect(table.stdout).not.toContain('rescheduling held');
    }, 60_000);

    it('aloft analyze names the requirement no agent satisfies and counts agents per clause', async () => {
      const file = await writeWorkflow(
        tmp,
        'idle',
        [
          { id: 'picky', args: ['0'], profiles: { aloft: { selector: 'zone In (c)' } } },
          { id: 'hungry', args: ['0'], profiles: { pegasus: { memory: String(100 * 1024 * 1024) } } },
          { id: 'foreign', args: ['0'], transformation: 'arm' },
          { id: 'fine', args: ['0'], profiles: { aloft: { selector: 'tier=gold' } } },
        ],
        otherArch,
      ); // prettier-ignore
      const sub = await client(['submit', file, '--output-dir', path.join(tmp, 'idle-out')]);
      expect(sub.code, sub.stderr).toBe(0);
      const id = sub.stdout.trim();
      await until('the placeable job to finish', () =>
        journal(id).some((e) => e.type === 'job_succeeded' && e.job === 'fine'),
      );
      const r = await client(['analyze', id]);
      expect(r.code, r.stderr).toBe(0);
      const out = r.stdout;
      expect(out).toContain('3 ready job(s) no agent can run now:');
      expect(out).toContain(
        '  picky: no agent satisfies selector clause zone In (c) (zone values seen: a, b)',
      );
      expect(out).toMatch(/ {2}hungry: needs 102400 GB memory; the largest agent has [\d.]+ [MG]B/);
      expect(out).toContain(
        `  foreign: needs arch ${otherArch}; no agent has it (2 agents are ${normalizeArch(os.arch())})`,
      );
      // How many agents each requirement matches, per idle job.
      /** An idle job's summary line and its indented requirement lines. */
      const block = (job: string): string => {
        const lines = out.split('\n');
        const at = lines.indexOf(lines.find((l) => l.startsWith(`  ${job}: `))!);
        const rest = lines.slice(at + 1);
        const n = rest.findIndex((l) => !l.startsWith('    '));
        return [lines[at], ...rest.slice(0, n === -1 ? undefined : n)].join('\n');
      };
      expect(block('picky')).toContain('    site = local: 2 agent(s) match');
      expect(block('picky')).toContain('    executor = process: 2 agent(s) match');
      expect(block('picky')).toContain('    zone In (c): 0 agent(s) match');
      expect(block('hungry')).toContain('    memory ≥ 102400 GB: 0 agent(s) match');
      expect(block('foreign')).toContain(`    arch = ${otherArch}: 0 agent(s) match`);
      expect(out).not.toContain('  fine: ');

      const json = await client(['analyze', id, '--json']);
      const reply = JSON.parse(json.stdout) as {
        idleJobs: { job: string; requirements: { requirement: string; matching: number }[] }[];
      };
      expect(reply.idleJobs.map((j) => j.job).sort()).toEqual(['foreign', 'hungry', 'picky']);
      expect(reply.idleJobs.find((j) => j.job === 'picky')!.requirements).toContainEqual({
        requirement: 'zone In (c)',
        matching: 0,
      });
      const removed = await client(['remove', id]);
      expect(removed.code, removed.stderr).toBe(0);
    }, 90_000);

    it('aloft agents --drain: no new offers to the agent; its running attempt finishes', async () => {
      // Every offer the scheduler sends to a1, seen by a plain NATS subscriber.
      const spy = await createNatsTransport({
        servers: nats.url,
        name: 'offer-spy',
        codec: createProtobufCodec(),
      });
      const offers: Offer[] = [];
      spy.subscribe<Offer>(subjects.offer('a1'), (m) => offers.push(m.data));
      try {
        await spy.flush();
        const file = await writeWorkflow(tmp, 'drain', [
          // Only a1 has tier=gold: the first job runs there.
          { id: 'd0', args: ['2.5'], profiles: { aloft: { selector: 'tier=gold' } } },
          { id: 'd1', args: ['0.2'], parents: ['d0'] },
          { id: 'd2', args: ['0.2'], parents: ['d0'] },
          { id: 'd3', args: ['0.2'], parents: ['d0'] },
        ]);
        const sub = await client(['submit', file, '--output-dir', path.join(tmp, 'drain-out')]);
        expect(sub.code, sub.stderr).toBe(0);
        const id = sub.stdout.trim();
        await until('d0 to start on a1', () =>
          journal(id).some((e) => e.type === 'attempt_started' && e.job === 'd0'),
        );
        const drain = await client(['agents', '--drain', 'a1']);
        expect(drain.code, drain.stderr).toBe(0);
        expect(drain.stdout).toBe(
          'agent a1: draining; no new work is offered to it, its running attempt finishes\n',
        );
        const offersBefore = offers.length;
        const seqAtDrain = journal(id).at(-1)!.seq;

        const wait = await client(['status', id, '--json', '-w']);
        expect(wait.code, wait.stderr).toBe(0);
        expect(JSON.parse(wait.stdout.trim().split('\n').pop()!)).toMatchObject({
          state: 'succeeded',
        });
        const events = journal(id);
        oneCompletionPerJob(events, ['d0', 'd1', 'd2', 'd3']);
        const started = startedOn(events);
        // d0 ran once, on a1, and its result was accepted there.
        expect(started.filter((a) => a.job === 'd0').map((a) => a.agent)).toEqual(['a1']);
        expect(events.find((e) => e.type === 'attempt_finished' && e.job === 'd0')).toMatchObject({
          ok: true,
          record: { agent: 'a1' },
        });
        // Nothing started on a1 after the drain, and no offer reached it.
        expect(started.filter((a) => a.seq > seqAtDrain && a.agent === 'a1')).toEqual([]);
        for (const j of ['d1', 'd2', 'd3']) {
          expect(started.filter((a) => a.job === j).map((a) => a.agent)).toEqual(['a2']);
        }
        expect(offers.length).toBe(offersBefore);
        expect(offers.map((o) => o.job.id)).toEqual(['d0']);

        const listed = JSON.parse((await client(['agents', '--json'])).stdout) as ListAgentsReply;
        expect(listed.agents.find((a) => a.ad.agent === 'a1')?.state).toBe('draining');
        const table = await client(['agents']);
        expect(table.stdout).toMatch(/^a1\s.*\sdraining$/m);

        const undo = await client(['agents', '--undrain', 'a1']);
        expect(undo.stdout).toBe('agent a1: ready; it takes new work again\n');
        const unknown = await client(['agents', '--drain', 'nosuch']);
        expect(unknown.code).toBe(2);
        expect(unknown.stderr).toContain("no agent 'nosuch'");
      } finally {
        await spy.close();
      }
    }, 90_000);
  },
);

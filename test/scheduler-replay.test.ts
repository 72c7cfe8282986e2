/**
 * End to end: a WfCommons trace replayed with synthetic tasks through the distributed
 * runtime — a real nats-server, a real `aloft scheduler` and three `aloft agent` processes
 * on two sites (`edge`: one agent, `hpc`: two), sharing one `file://` store on this host —
 * by `aloft submit TRACE --sites edge,hpc --wait` with its time and size scales. Asserted from the journal and the
 * output directory: attempts ran on agents of both sites, every job has exactly one
 * accepted completion, every trace task ran once on the synthetic executor, and the final
 * products have the trace's sizes × the size scale and the synthetic executor's bytes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../proto/index.js';
import { readJournalSync } from '../services/journal/index.js';
import { runPaths } from '../services/run/index.js';
import { BIN, SHARED } from './helpers/cli.js';
import {
  controlClient,
  startAgentDaemon,
  startSchedulerDaemon,
  type Daemon,
  waitForAgents,
} from './helpers/daemon.js';
import { natsServerAvailable, startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { expectSyntheticOutputs, finalProducts } from './helpers/replay-check.js';

/** 52 tasks, 28 final products. */
const TRACE = path.join(
  SHARED,
  'workflows',
  'wfcommons',
  'pegasus',
  '1000genome',
  '1000genome-chameleon-2ch-100k-001.json',
);
const TASKS = 52;
const TIME_SCALE = 0.002;
const SIZE_SCALE = 0.005;
const TOKEN = 'replay-e2e-token';
const SITE_OF: Record<string, string> = { 'edge-1': 'edge', 'hpc-1': 'hpc', 'hpc-2': 'hpc' };

describe.skipIf(!natsServerAvailable || !existsSync(BIN) || !existsSync(TRACE))(
  'aloft submit TRACE: a replay on three agents at two sites',
  () => {
    let nats: NatsServer;
    let tmp: string;
    let sched: Daemon | undefined;
    let addr: string;
    const agents: Daemon[] = [];

    const client = controlClient(() => addr, TOKEN, { timeoutMs: 180_000 });

    beforeAll(async () => {
      nats = await startNatsServer();
      tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-replay-e2e-'));
      const s = await startSchedulerDaemon({
        natsUrl: nats.url,
        dataDir: path.join(tmp, 'data'),
        token: TOKEN,
        flags: ['--lease', '10s'],
      });
      sched = s.daemon;
      addr = s.address;
      const agent = (id: string) =>
        startAgentDaemon({
          natsUrl: nats.url,
          id,
          site: SITE_OF[id]!,
          workDir: path.join(tmp, 'agents', id),
          flags: ['--slots', '2'],
        });
      agents.push(...(await Promise.all(Object.keys(SITE_OF).map(agent))));
      await waitForAgents(client, 3, 30_000);
    }, 90_000);

    afterAll(async () => {
      for (const a of agents) await a.stop();
      await sched?.stop();
      await nats?.dispose();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    }, 90_000);

    it('runs the trace to success with every job once and the outputs the trace says', async () => {
      const out = path.join(tmp, 'out');
      const r = await client([
        'submit', TRACE, '--sites', 'edge,hpc', '--output-dir', out, '--wait',
        '--time-scale', String(TIME_SCALE), '--size-scale', String(SIZE_SCALE),
      ]); // prettier-ignore
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('succeeded');
      const id = r.stdout.trim();
      const runDir = path.join(tmp, 'data', 'runs', id);
      const plan = JSON.parse(readFileSync(runPaths(runDir).plan, 'utf8')) as Plan;
      const events = readJournalSync(runDir);
      expect(events.at(-1)).toMatchObject({ type: 'run_finished', state: 'succeeded' });

      // The planner spread the synthetic tasks over both sites, and agents of both ran them.
      const computeSites = new Set(
        plan.jobs.filter((j) => j.kind === 'compute').map((j) => j.site),
      );
      expect([...computeSites].sort()).toEqual(['edge', 'hpc']);
      const started = events.flatMap((e) => (e.type === 'attempt_started' ? [e] : []));
      const agentSites = new Set(started.map((e) => SITE_OF[e.agent]));
      expect([...agentSites].sort()).toEqual(['edge', 'hpc']);
      for (const e of started) {
        // Each attempt ran on an agent of the job's site.
        expect(SITE_OF[e.agent], `${e.job} on ${e.agent}`).toBe(
          plan.jobs.find((j) => j.id === e.job)!.site,
        );
      }

      // Every planned job has exactly one accepted completion.
      const succeeded = new Map<string, number>();
      for (const e of events) {
        if (e.type === 'job_succeeded') succeeded.set(e.job, (succeeded.get(e.job) ?? 0) + 1);
      }
      for (const j of plan.jobs) expect(succeeded.get(j.id), j.id).toBe(1);
      expect(succeeded.size).toBe(plan.jobs.length);

      // Every trace task ran once, on the synthetic executor.
      const synthetic = events.filter(
        (e) => e.type === 'attempt_finished' && e.ok && e.record.executor === 'synthetic',
      );
      expect(synthetic).toHaveLength(TASKS);
      expect(new Set(synthetic.map((e) => (e.type === 'attempt_finished' ? e.job : ''))).size).toBe(
        TASKS,
      );

      // The final products: scaled sizes and the synthetic executor's deterministic bytes.
      const finals = await finalProducts(TRACE, SIZE_SCALE);
      expect(finals).toHaveLength(28);
      await expectSyntheticOutputs(out, finals);
    }, 240_000);
  },
);

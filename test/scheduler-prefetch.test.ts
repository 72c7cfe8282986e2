/**
 * Agent prefetch end to end, over a real nats-server with real `aloft scheduler` and
 * `aloft agent --slots 1 --prefetch 2` processes and the CLI: a 30-job layered workflow runs
 * to success through `aloft submit --wait`. From the journal: every job succeeded exactly
 * once, nothing was retried, and attempts were queued on the agent (more than one started
 * and not finished at a time, never more than slots + prefetch). Every offer the agent got
 * (seen by a plain NATS subscriber) was one of the 30 attempts: the scheduler's queued
 * reservations agree with the agent's queue, so none was rejected. `aloft agents --json`
 * while it runs shows at most the agent's one slot in use, and its ad carries `prefetch`.
 * Nothing asserts wall-clock times.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsTransport } from '../lib/transport/index.js';
import { createProtobufCodec, type ListAgentsReply } from '../proto/codec/index.js';
import { subjects, type Offer } from '../proto/index.js';
import { readJournalSync, type JournalEvent } from '../services/journal/index.js';
import { BIN } from './helpers/cli.js';
import {
  controlClient,
  startAgentDaemon,
  startSchedulerDaemon,
  type Daemon,
  waitForAgents,
} from './helpers/daemon.js';
import { natsServerAvailable, startNatsServer, type NatsServer } from './helpers/nats-server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Three layers of ten: the first sleeps briefly (so the queue fills), the rest /bin/true. */
function layeredWorkflow(): { doc: unknown; ids: string[] } {
  const ids: string[] = [];
  const jobs: unknown[] = [];
  const deps: { id: string; children: string[] }[] = [];
  for (let layer = 1; layer <= 3; layer++) {
    for (let i = 0; i < 10; i++) {
      const id = `l${layer}_${i}`;
      ids.push(id);
      jobs.push({
        type: 'job',
        name: layer === 1 ? 'nap' : 'ok',
        id,
        arguments: layer === 1 ? ['0.2'] : [],
        uses: [],
      });
      if (layer > 1) {
        // Each job waits for two of the layer above, so layers overlap as they finish.
        for (const p of [i, (i + 3) % 10]) deps.push({ id: `l${layer - 1}_${p}`, children: [id] });
      }
    }
  }
  const doc = {
    pegasus: '5.0.4',
    name: 'prefetch',
    transformationCatalog: {
      transformations: [
        { name: 'nap', sites: [{ name: 'local', pfn: '/bin/sleep', type: 'installed' }] },
        { name: 'ok', sites: [{ name: 'local', pfn: '/bin/true', type: 'installed' }] },
      ],
    },
    jobs,
    jobDependencies: deps,
  };
  return { doc, ids };
}

describe.skipIf(!natsServerAvailable || !existsSync(BIN))(
  'scheduler with a prefetching agent (real processes)',
  () => {
    const TOKEN = 'prefetch-test-token';
    let nats: NatsServer;
    let tmp: string;
    let sched: Daemon | undefined;
    let agent: Daemon | undefined;
    let addr: string;

    const client = controlClient(() => addr, TOKEN);

    beforeAll(async () => {
      nats = await startNatsServer();
      tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-prefetch-'));
      const s = await startSchedulerDaemon({
        natsUrl: nats.url,
        dataDir: path.join(tmp, 'data'),
        token: TOKEN,
      });
      sched = s.daemon;
      addr = s.address;
      agent = await startAgentDaemon({
        natsUrl: nats.url,
        id: 'pf1',
        site: 'local',
        workDir: path.join(tmp, 'agents', 'pf1'),
        flags: ['--slots', '1', '--prefetch', '2'],
      });
      await waitForAgents(client, 1);
    }, 60_000);

    afterAll(async () => {
      await agent?.stop();
      await sched?.stop();
      await nats?.dispose();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    }, 60_000);

    it('runs a 30-job layered workflow to success, each job once, through the agent queue', async () => {
      const spy = await createNatsTransport({
        servers: nats.url,
        name: 'offer-spy',
        codec: createProtobufCodec(),
      });
      const offers: Offer[] = [];
      spy.subscribe<Offer>(subjects.offer('pf1'), (m) => offers.push(m.data));
      try {
        await spy.flush();
        const { doc, ids } = layeredWorkflow();
        const file = path.join(tmp, 'prefetch.yml');
        await writeFile(file, JSON.stringify(doc, null, 2)); // JSON is YAML

        // `aloft agents --json` while the workflow runs.
        const seen: ListAgentsReply[] = [];
        let done = false;
        const watching = (async () => {
          while (!done) {
            const r = await client(['agents', '--json']);
            if (r.code === 0) seen.push(JSON.parse(r.stdout) as ListAgentsReply);
            await sleep(100);
          }
        })();
        const sub = await client(['submit', file, '--output-dir', path.join(tmp, 'out'), '--wait']);
        done = true;
        await watching;
        expect(sub.code, sub.stderr).toBe(0);
        const id = sub.stdout.trim().split('\n')[0]!;

        const events: JournalEvent[] = readJournalSync(path.join(tmp, 'data', 'runs', id));
        for (const job of ids) {
          const succeeded = events.filter((e) => e.type === 'job_succeeded' && e.job === job);
          expect(succeeded, job).toHaveLength(1);
        }
        expect(events.filter((e) => e.type === 'job_retry' || e.type === 'job_failed')).toEqual([]);
        const started = events.filter((e) => e.type === 'attempt_started');
        expect(started).toHaveLength(30);
        expect(new Set(started.map((e) => (e.type === 'attempt_started' ? e.agent : '')))).toEqual(
          new Set(['pf1']),
        );
        // Attempts started and not yet finished, in journal order: the queue was used, and
        // never beyond slots + prefetch.
        let open = 0;
        let most = 0;
        for (const e of events) {
          if (e.type === 'attempt_started') most = Math.max(most, ++open);
          if (e.type === 'attempt_finished') open--;
        }
        expect(most).toBeGreaterThan(1);
        expect(most).toBeLessThanOrEqual(3);
        // Every offer was accepted: exactly one per attempt.
        expect(offers.map((o) => o.job.id).sort()).toEqual([...ids].sort());

        // Queued reservations hold no slot: at most the one slot shows in use.
        expect(seen.length).toBeGreaterThan(0);
        for (const reply of seen) {
          const pf1 = reply.agents.find((a) => a.ad.agent === 'pf1');
          expect(pf1?.ad.slots).toBe(1);
          expect(pf1!.slotsInUse).toBeLessThanOrEqual(1);
        }
      } finally {
        await spy.close();
      }
    }, 60_000);

    it('aloft agents --json carries the prefetch of the agent ad', async () => {
      const r = await client(['agents', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const pf1 = (JSON.parse(r.stdout) as ListAgentsReply).agents.find(
        (a) => a.ad.agent === 'pf1',
      );
      expect(pf1?.ad).toMatchObject({ agent: 'pf1', slots: 1, prefetch: 2 });
    }, 30_000);
  },
);

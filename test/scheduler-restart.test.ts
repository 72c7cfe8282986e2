/**
 * kill -9 of the `aloft scheduler` process in the middle of a workflow, then a restart on
 * the same data directory: the workflow completes, no job that had finished runs again,
 * and every job has exactly one accepted completion (asserted from the journal). Real
 * processes: nats-server, the scheduler, two agents, the client CLI.
 *
 * The restarted scheduler knows the agents only from their heartbeats at first; it asks
 * each for its ad (aloft.agent.<id>.advertise), without which none could be given work.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, aloft } from './helpers/cli.js';
import {
  daemon,
  type Daemon,
  SCHEDULER_READY,
  schedulerAddress,
  waitForAgents,
} from './helpers/daemon.js';
import { natsServerAvailable, startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { readJournalSync } from '../services/journal/index.js';
import type { JournalEvent } from '../services/journal/index.js';

const TOKEN = 'restart-test-token';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!natsServerAvailable || !existsSync(BIN))('scheduler crash and restart', () => {
  let nats: NatsServer;
  let tmp: string;
  const agents: Daemon[] = [];
  let sched: Daemon | undefined;

  const schedulerArgs = (): string[] => [
    'scheduler',
    '--nats', nats.url,
    '--data', path.join(tmp, 'data'),
    '--listen', '127.0.0.1:0',
    '--token', TOKEN,
    '--lease', '5s',
    '--log-level', 'warn',
  ]; // prettier-ignore
  const startScheduler = async (): Promise<string> => {
    sched = await daemon(schedulerArgs(), SCHEDULER_READY);
    return schedulerAddress(sched);
  };
  const client = (addr: string, args: string[]) =>
    aloft([...args, '--scheduler', addr, '--token', TOKEN], {
      env: { ALOFT_SCHEDULER: '', ALOFT_TOKEN: '' },
    });

  beforeAll(async () => {
    nats = await startNatsServer();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-sched-restart-'));
  }, 60_000);

  afterAll(async () => {
    for (const a of agents) await a.stop();
    await sched?.stop();
    await nats?.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, 60_000);

  it('completes the workflow after kill -9, rerunning nothing that finished', async () => {
    let addr = await startScheduler();
    for (const id of ['a1', 'a2']) {
      agents.push(
        await daemon(
          [
            'agent', '--nats', nats.url, '--site', 'local', '--id', id,
            '--work', path.join(tmp, 'agents', id), '--slots', '1', '--heartbeat', '300ms',
            '--log-level', 'warn',
          ],
          /serving site/,
        ),
      ); // prettier-ignore
    }
    // Twelve 0.4 s jobs in two parallel chains of six.
    const jobs: string[] = [];
    const deps: string[] = [];
    for (const c of ['x', 'y']) {
      for (let i = 0; i < 6; i++) {
        jobs.push(`  - {type: job, name: t, id: ${c}${i}, arguments: ["0.4"], uses: []}\n`);
        if (i > 0) deps.push(`  - {id: ${c}${i - 1}, children: [${c}${i}]}\n`);
      }
    }
    const file = path.join(tmp, 'chains.yml');
    await writeFile(
      file,
      'pegasus: "5.0.4"\nname: chains\ntransformationCatalog:\n  transformations:\n' +
        '    - {name: t, sites: [{name: local, pfn: /bin/sleep, type: installed}]}\n' +
        `jobs:\n${jobs.join('')}jobDependencies:\n${deps.join('')}`,
    );
    await waitForAgents((a) => client(addr, a), 2, 20_000);
    const sub = await client(addr, ['submit', file, '--output-dir', path.join(tmp, 'out')]);
    expect(sub.code, sub.stderr).toBe(0);
    const id = sub.stdout.trim();
    const runDir = path.join(tmp, 'data', 'runs', id);

    // Crash it once a few jobs have finished and others are running.
    const succeeded = (events: JournalEvent[]): JournalEvent[] =>
      events.filter((e) => e.type === 'job_succeeded');
    for (let waited = 0; ; waited += 50) {
      if (existsSync(path.join(runDir, 'journal.jsonl'))) {
        if (succeeded(readJournalSync(runDir)).length >= 3) break;
      }
      if (waited > 30_000) throw new Error('no progress before the crash');
      await sleep(50);
    }
    await sched!.kill();
    const before = readJournalSync(runDir);
    const doneBefore = new Set(
      succeeded(before).map((e) => (e.type === 'job_succeeded' ? e.job : '')),
    );

    addr = await startScheduler();
    const wait = await client(addr, ['status', id, '--json', '-w']);
    expect(wait.stderr).not.toMatch(/internal error/);
    const final = JSON.parse(wait.stdout.trim().split('\n').pop()!) as { state: string };
    expect(final.state).toBe('succeeded');

    const events = readJournalSync(runDir);
    const after = events.slice(before.length);
    // Nothing that had finished was started again.
    for (const e of after) {
      if (e.type === 'attempt_started') expect(doneBefore.has(e.job), e.job).toBe(false);
    }
    // Every job has exactly one accepted completion.
    for (const c of ['x', 'y']) {
      for (let i = 0; i < 6; i++) {
        const job = `${c}${i}`;
        expect(
          events.filter((e) => e.type === 'job_succeeded' && e.job === job),
          job,
        ).toHaveLength(1);
      }
    }
  }, 120_000);
});

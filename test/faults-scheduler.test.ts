/**
 * Scheduler crash windows and a nats-server restart, through real processes: nats-server,
 * `aloft scheduler`, three `aloft agent` daemons and the CLI. The scheduler crashes itself
 * with SIGKILL at a fault point (lib/faults, armed by ALOFT_FAULTS) — the exact window a
 * random `kill -9` would hit only by luck — and is restarted on the same data directory.
 *
 * Every test asserts from the journal that every job has exactly one accepted completion
 * (`job_succeeded`), that no job was started again after it had completed, and that the
 * journal is fenced: every attempt is started once under an epoch no other attempt has,
 * and every accepted result comes from the agent its attempt was given to. Where a crash
 * leaves attempts in flight, the test says what happens to them and asserts it:
 * - an attempt journaled as started is re-adopted, never rerun: after the restart it gets
 *   no new attempt, and its result — the agent's retransmission from its outbox — is
 *   accepted under the key journaled before the crash;
 * - an attempt the agent accepted but the scheduler had not journaled (the dispatch
 *   window) does not exist for the journal, which is the source of truth: the restarted
 *   scheduler treats it as an orphan (killed when its agent reports it, or its result
 *   acked and dropped), never counts its result, and runs the job under a new, higher
 *   epoch. That rerun is the contract ("attempt_started is appended when the agent
 *   accepts, before anything acts on it", services/engine/engine.ts): the job had not
 *   completed, and nothing of the orphan reaches the journal.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, aloft } from './helpers/cli.js';
import {
  daemon,
  type Daemon,
  SCHEDULER_READY,
  schedulerAddress,
  waitForAgents,
} from './helpers/daemon.js';
import { natsServerAvailable, startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { untilValue } from './helpers/proc.js';
import { readJournalSync, type JournalEvent } from '../services/journal/index.js';

const TOKEN = 'faults-test-token';
const AGENTS = ['a1', 'a2', 'a3'];

type Started = Extract<JournalEvent, { type: 'attempt_started' }>;
type Finished = Extract<JournalEvent, { type: 'attempt_finished' }>;
type Succeeded = Extract<JournalEvent, { type: 'job_succeeded' }>;

/** untilValue with this file's longer default wait (crash tests restart processes). */
const until = <T>(probe: () => T | undefined, what: string, ms = 60_000): Promise<T> =>
  untilValue(probe, what, ms);

/** Resolve with `p`, or fail with `what` if it takes longer than `ms`. */
async function within<T>(p: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const keyOf = (e: { job: string; attempt: number; epoch: number }): string =>
  `${e.job}/${e.attempt}/${e.epoch}`;

/** The journal without invocation records, one event a line (failure messages). */
const journalText = (runDir: string): string =>
  readJournalSync(runDir)
    .map((e) => JSON.stringify({ ...e, record: undefined }))
    .join('\n');

/** pino JSON lines of a daemon's stderr (other lines skipped). */
function logLines(stderr: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by the kill
    }
  }
  return out;
}

/**
 * The properties every test asserts on the final journal: one accepted completion per
 * job, nothing started after its job completed, every attempt started once under its own
 * epoch, every accepted result from the attempt's own agent, and a succeeded run.
 */
function assertJournal(events: JournalEvent[], jobs: string[]): void {
  const succeeded = new Map<string, number>();
  const startedKeys = new Map<string, Started>();
  const epochs = new Map<number, string>();
  for (const e of events) {
    if (e.type === 'job_succeeded') {
      expect(succeeded.has(e.job), `${e.job} succeeded twice`).toBe(false);
      succeeded.set(e.job, e.seq);
    } else if (e.type === 'attempt_started') {
      expect(succeeded.has(e.job), `${e.job} started again after it succeeded`).toBe(false);
      expect(startedKeys.has(keyOf(e)), `${keyOf(e)} started twice`).toBe(false);
      expect(epochs.get(e.epoch), `epoch ${e.epoch} used by two attempts`).toBeUndefined();
      startedKeys.set(keyOf(e), e);
      epochs.set(e.epoch, keyOf(e));
    } else if (e.type === 'attempt_finished') {
      const s = startedKeys.get(keyOf(e));
      expect(s, `${keyOf(e)} finished but never started`).toBeDefined();
      // A result accepted from an agent is that agent's (the scheduler's own records of
      // lost or cancelled attempts carry the journaled agent too).
      expect(e.record.agent, `${keyOf(e)} result from another agent`).toBe(s!.agent);
    }
  }
  for (const job of jobs) expect(succeeded.has(job), `${job} has no job_succeeded`).toBe(true);
  expect(succeeded.size).toBe(jobs.length);
  expect(events.at(-1)).toMatchObject({ type: 'run_finished', state: 'succeeded' });
}

/**
 * Attempts journaled as started before the crash and not finished then: after the
 * restart none of their jobs is started again, and each is finished under its pre-crash
 * key, successfully, with the agent's own invocation record (its retransmitted result).
 */
function assertReadopted(before: JournalEvent[], after: JournalEvent[]): Started[] {
  const finishedBefore = new Set(
    before.filter((e): e is Finished => e.type === 'attempt_finished').map(keyOf),
  );
  const open = before.filter(
    (e): e is Started => e.type === 'attempt_started' && !finishedBefore.has(keyOf(e)),
  );
  for (const s of open) {
    const restarted = after.filter((e) => e.type === 'attempt_started' && e.job === s.job);
    expect(restarted, `${s.job} (running at the crash) was started again`).toEqual([]);
    const fin = after.filter(
      (e): e is Finished => e.type === 'attempt_finished' && e.job === s.job,
    );
    expect(fin.map(keyOf), `${s.job}'s result`).toEqual([keyOf(s)]);
    expect(fin[0]).toMatchObject({ ok: true, record: { agent: s.agent, exitCode: 0 } });
  }
  return open;
}

describe.skipIf(!natsServerAvailable || !existsSync(BIN))('scheduler faults', () => {
  let nats: NatsServer;
  let tmp: string;
  let sched: Daemon | undefined;
  let agents: Daemon[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
  }, 60_000);

  afterAll(async () => {
    await nats?.dispose();
  }, 60_000);

  afterEach(async () => {
    for (const a of agents) await a.stop();
    agents = [];
    await sched?.stop();
    sched = undefined;
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, 60_000);

  async function startScheduler(lease: string, faults?: string): Promise<string> {
    const args = [
      'scheduler',
      '--nats', nats.url,
      '--data', path.join(tmp, 'data'),
      '--listen', '127.0.0.1:0',
      '--token', TOKEN,
      '--lease', lease,
      '--log-level', 'warn',
    ]; // prettier-ignore
    sched = await daemon(
      args,
      SCHEDULER_READY,
      undefined,
      faults !== undefined ? { env: { ALOFT_FAULTS: faults } } : {},
    );
    return schedulerAddress(sched);
  }

  const client = (addr: string, args: string[], timeoutMs = 120_000) =>
    aloft([...args, '--scheduler', addr, '--token', TOKEN], {
      env: { ALOFT_SCHEDULER: '', ALOFT_TOKEN: '' },
      timeoutMs,
    });

  const outboxOf = (id: string): string => path.join(tmp, 'agents', id, 'outbox');
  /** Results an agent holds unacknowledged (outbox files `job.attempt.epoch.json`). */
  const unacked = (id: string): string[] =>
    existsSync(outboxOf(id))
      ? readdirSync(outboxOf(id)).filter((f) => /^[A-Za-z0-9_-]+\.\d+\.\d+\.json$/.test(f))
      : [];

  async function startAgents(addr: string): Promise<void> {
    for (const id of AGENTS) {
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
    await waitForAgents((a) => client(addr, a), AGENTS.length, 30_000);
  }

  /** Chains of `/bin/sleep SECONDS` jobs (`c0 -> c1 -> ...`); returns the file and ids. */
  async function chains(
    names: string[],
    length: number,
    seconds: string,
  ): Promise<{ file: string; jobs: string[] }> {
    const jobs: string[] = [];
    const lines: string[] = [];
    const deps: string[] = [];
    for (const c of names) {
      for (let i = 0; i < length; i++) {
        jobs.push(`${c}${i}`);
        lines.push(`  - {type: job, name: t, id: ${c}${i}, arguments: ["${seconds}"], uses: []}\n`);
        if (i > 0) deps.push(`  - {id: ${c}${i - 1}, children: [${c}${i}]}\n`);
      }
    }
    const file = path.join(tmp, 'chains.yml');
    await writeFile(
      file,
      'pegasus: "5.0.4"\nname: chains\ntransformationCatalog:\n  transformations:\n' +
        '    - {name: t, sites: [{name: local, pfn: /bin/sleep, type: installed}]}\n' +
        `jobs:\n${lines.join('')}jobDependencies:\n${deps.join('')}`,
    );
    return { file, jobs };
  }

  async function submit(addr: string, file: string): Promise<{ id: string; runDir: string }> {
    const sub = await client(addr, ['submit', file, '--output-dir', path.join(tmp, 'out')]);
    expect(sub.code, sub.stderr).toBe(0);
    const id = sub.stdout.trim();
    return { id, runDir: path.join(tmp, 'data', 'runs', id) };
  }

  /**
   * Run chains on a scheduler armed with `fault`; wait for it to crash there (SIGKILL by
   * itself); restart it clean on the same data dir and follow the workflow to success.
   * Returns the journal before the crash, after it, and the restarted scheduler's log.
   */
  async function crashAndRecover(fault: string, point: string, lease: string) {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-faults-'));
    let addr = await startScheduler(lease, fault);
    await startAgents(addr);
    const { file, jobs } = await chains(['a', 'b', 'c'], 4, '1');
    const { id, runDir } = await submit(addr, file);

    const crashed = await within(sched!.exited, `the scheduler to crash at ${fault}`);
    expect(crashed.signal, sched!.stderr()).toBe('SIGKILL');
    expect(sched!.stderr()).toMatch(new RegExp(`fault point ${point.replace(/\./g, '\\.')} `));
    const before = readJournalSync(runDir);

    addr = await startScheduler(lease);
    const wait = await client(addr, ['status', id, '--json', '-w']);
    expect(wait.stderr).not.toMatch(/internal error/);
    const final = JSON.parse(wait.stdout.trim().split('\n').pop()!) as { state: string };
    expect(final.state, `${sched!.stderr()}\n${journalText(runDir)}`).toBe('succeeded');

    const events = readJournalSync(runDir);
    expect(events.slice(0, before.length)).toEqual(before);
    const after = events.slice(before.length);
    expect(after[0]).toMatchObject({ type: 'run_started', resumed: true });
    assertJournal(events, jobs);
    // Every result an agent produced is acknowledged in the end (by the restarted
    // scheduler for those the crashed one never acked): nothing is left to retransmit.
    await until(
      () => (AGENTS.every((a) => unacked(a).length === 0) ? true : undefined),
      'every agent outbox to empty',
    );
    return { before, after, events, log: logLines(sched!.stderr()) };
  }

  it('a malformed ALOFT_FAULTS stops aloft scheduler at startup (exit 2, every problem)', async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-faults-'));
    const r = await aloft(
      [
        'scheduler',
        '--nats',
        nats.url,
        '--data',
        path.join(tmp, 'data'),
        '--listen',
        '127.0.0.1:0',
      ],
      { env: { ALOFT_FAULTS: 'scheduler.result.recieved,scheduler.dispatch.offered@0' } },
    );
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/ALOFT_FAULTS is malformed/);
    expect(r.stderr).toContain("did you mean 'scheduler.result.received'?");
    expect(r.stderr).toContain("'@0' is not a hit count");
    expect(r.stderr).not.toMatch(/listening/);
  });

  it('kill -9 in the dispatch window (offer accepted, not journaled): the orphan is fenced off, the job runs once more under a higher epoch', async () => {
    // The 4th accepted offer: the three chain heads were offered first, so a successor of a
    // finished head; the other chains have attempts running (journaled) at the crash.
    const { before, after, log } = await crashAndRecover(
      'scheduler.dispatch.offered@4',
      'scheduler.dispatch.offered',
      '10s',
    );
    assertReadopted(before, after);

    const journaled = new Set<number>();
    for (const e of [...before, ...after]) {
      if (e.type === 'attempt_started' || e.type === 'attempt_finished') journaled.add(e.epoch);
    }
    // The accepted-but-unjournaled attempt: the restarted scheduler heard of it (its
    // agent's heartbeat, or its retransmitted result) and fenced it off.
    const orphanMsgs = new Set(['killing orphan attempt', 'result for no workflow']);
    const orphans = log.filter(
      (l) =>
        orphanMsgs.has(l['msg'] as string) &&
        typeof l['epoch'] === 'number' &&
        !before.some((e) => e.type === 'attempt_started' && e.epoch === l['epoch']),
    );
    expect(orphans.length, 'the orphan of the crashed dispatch was seen').toBeGreaterThan(0);
    const beforeMax = Math.max(
      0,
      ...before.filter((e): e is Started => e.type === 'attempt_started').map((e) => e.epoch),
    );
    for (const o of orphans) {
      const job = o['job'] as string;
      const epoch = o['epoch'] as number;
      // Handed out by the crashed scheduler after everything it journaled.
      expect(epoch).toBeGreaterThan(beforeMax);
      // Nothing of it reached the journal: neither its start nor its result.
      expect(journaled.has(epoch), `orphan epoch ${epoch} in the journal`).toBe(false);
      // The job was not started before the crash, and ran under a fresh, higher epoch.
      expect(before.some((e) => e.type === 'attempt_started' && e.job === job)).toBe(false);
      const ran = after.filter((e): e is Started => e.type === 'attempt_started' && e.job === job);
      expect(ran.length, `${job} after the restart`).toBeGreaterThan(0);
      // No epoch is handed out twice: every attempt after the restart is fenced above it.
      for (const s of after) {
        if (s.type === 'attempt_started') expect(s.epoch, keyOf(s)).toBeGreaterThan(epoch);
      }
    }
  }, 180_000);

  it('kill -9 when a result arrived, before it is journaled: the retransmitted result is accepted, nothing reruns', async () => {
    const { before, after } = await crashAndRecover(
      'scheduler.result.received@4',
      'scheduler.result.received',
      '10s',
    );
    // The 4th result was in flight: its attempt is open in the journal before the crash
    // (and the three before it may not all be durable yet).
    expect(before.filter((e) => e.type === 'attempt_finished').length).toBeLessThanOrEqual(3);
    const open = assertReadopted(before, after);
    expect(open.length).toBeGreaterThan(0);
  }, 180_000);

  it('kill -9 after a result is journaled, before its ack: the retransmission is not counted twice', async () => {
    const { before, after } = await crashAndRecover(
      'scheduler.result.journaled@4',
      'scheduler.result.journaled',
      '10s',
    );
    // The 4th accepted result is durable with its decision and its ack never left (results
    // journaled in the same group commit are durable and unacked too).
    const done = before.filter((e): e is Succeeded => e.type === 'job_succeeded');
    expect(done.length).toBeGreaterThanOrEqual(4);
    // Its agent retransmitted it to the restarted scheduler (the outbox emptied, checked in
    // crashAndRecover), which acked it as a duplicate: no job completed before the crash
    // appears again, neither started nor finished.
    for (const s of done) {
      expect(before.filter((e) => e.type === 'attempt_finished' && e.job === s.job)).toHaveLength(
        1,
      );
      expect(
        after.filter((e) => 'job' in e && e.job === s.job),
        s.job,
      ).toEqual([]);
    }
    assertReadopted(before, after);
  }, 180_000);

  it('nats-server restart mid-run: scheduler, agents and submit --wait survive; nothing reruns', async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-faults-'));
    // A lease far longer than the outage: no agent may be declared lost.
    const addr = await startScheduler('30s');
    await startAgents(addr);
    const { file, jobs } = await chains(['a', 'b', 'c'], 4, '1');
    const waiting = client(addr, ['submit', file, '--output-dir', path.join(tmp, 'out'), '--wait']);
    const runDir = await until(() => {
      const runs = path.join(tmp, 'data', 'runs');
      const dir = existsSync(runs) ? readdirSync(runs)[0] : undefined;
      return dir !== undefined ? path.join(runs, dir) : undefined;
    }, 'the run directory');

    // Cut NATS once some jobs are done and others run.
    await until(() => {
      const ev = readJournalSync(runDir);
      const done = ev.filter((e) => e.type === 'job_succeeded').length;
      const started = ev.filter((e) => e.type === 'attempt_started').length;
      const finished = ev.filter((e) => e.type === 'attempt_finished').length;
      return done >= 2 && started > finished ? true : undefined;
    }, 'jobs done and jobs running');
    await nats.kill();
    const cut = readJournalSync(runDir);
    // A result produced while NATS is down waits in its agent's outbox.
    await until(
      () => (AGENTS.some((a) => unacked(a).length > 0) ? true : undefined),
      'a result during the outage',
    );
    await nats.restart();

    const done = await within(waiting, 'aloft submit --wait', 120_000);
    expect(done.code, done.stderr).toBe(0);
    for (const d of [sched!, ...agents]) expect(d.proc.exitCode, d.stderr()).toBeNull();

    const events = readJournalSync(runDir);
    assertJournal(events, jobs);
    // One process throughout: one run_started, and no job ever needed a second attempt.
    expect(events.filter((e) => e.type === 'run_started')).toHaveLength(1);
    for (const job of jobs) {
      expect(
        events.filter((e) => e.type === 'attempt_started' && e.job === job),
        job,
      ).toHaveLength(1);
    }
    // Attempts running when NATS went down finished under their keys, by their agents.
    assertReadopted(cut, events.slice(cut.length));
    await until(
      () => (AGENTS.every((a) => unacked(a).length === 0) ? true : undefined),
      'every agent outbox to empty',
    );
  }, 180_000);
});

/**
 * Agent-side faults (issue 3 "Faults") with real processes: a real nats-server, a real
 * `aloft scheduler`, real `aloft agent` daemons, real jobs. Each test asserts from the
 * scheduler's journal that no completed job ran again and that every job has exactly one
 * accepted completion (`job_succeeded`); jobs also count their own executions (the test's
 * job script appends `ALOFT_JOB_ID ALOFT_ATTEMPT PID` to a file before it sleeps).
 *
 * - kill -9 of an agent mid-job: the attempt is lost after the lease (infrastructure, no
 *   retry spent) and rescheduled on the other agent; the job's process died with its agent.
 * - kill -9 and a restart of the agent within its lease: the scheduler notices that the
 *   restarted agent no longer reports the attempt and reschedules it.
 * - network cuts through a TCP proxy (test/helpers/tcp-proxy.ts) that partitions for real:
 *   shorter than the lease (nothing happens, the result is accepted once), longer than the
 *   lease (rescheduled elsewhere; on restore the orphan is killed and its late result
 *   rejected).
 * - duplicate deliveries: a NATS connection of the test re-delivers every offer (also after
 *   the attempt finished and was acknowledged) and republishes every result.
 *
 * Tests wait on conditions (journal, heartbeats, /proc), never on fixed sleeps racing work.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNatsTransport, type NatsTransport } from '../lib/transport/index.js';
import { createProtobufCodec, type Heartbeat } from '../proto/codec/index.js';
import {
  subjects,
  type AttemptKey,
  type AttemptResultMsg,
  type Offer,
  type OfferReply,
  type ResultAck,
} from '../proto/index.js';
import { readJournalSync, type JournalEvent } from '../services/journal/index.js';
import { BIN, aloft } from './helpers/cli.js';
import { daemon, type Daemon, SCHEDULER_READY, schedulerAddress } from './helpers/daemon.js';
import { natsServerAvailable, startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';
import { alive } from './helpers/proc.js';

const TOKEN = 'agent-faults-token';
const HEARTBEAT = '300ms';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(
  what: string,
  test: () => boolean | Promise<boolean>,
  ms = 30_000,
  every = 100,
): Promise<void> {
  const end = performance.now() + ms;
  while (!(await test())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

const keyId = (k: AttemptKey): string => `${k.job}.${k.attempt}.${k.epoch}`;

/** Pids of processes whose argv is exactly `argv` (zombies have an empty cmdline). */
function pidsOf(argv: string[]): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const c = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (c.length === argv.length && c.every((x, i) => x === argv[i])) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** One job of a test workflow: sleeps `first` seconds on attempt 1, `later` afterwards. */
interface JobSpec {
  id: string;
  first: string;
  later?: string;
  parents?: string[];
}

interface Execution {
  job: string;
  attempt: number;
  pid: number;
}

interface Sched {
  d: Daemon;
  addr: string;
  data: string;
}

/** Every job: exactly one job_succeeded, one successful attempt, nothing started after it. */
function assertOneCompletionEach(events: JournalEvent[], jobs: string[]): void {
  for (const job of jobs) {
    const done = events.filter((e) => e.type === 'job_succeeded' && e.job === job);
    expect(done, `job_succeeded of ${job}`).toHaveLength(1);
    const at = events.indexOf(done[0]!);
    expect(
      events.slice(at).filter((e) => e.type === 'attempt_started' && e.job === job),
      `attempts of ${job} started after it completed`,
    ).toHaveLength(0);
    expect(
      events.filter((e) => e.type === 'attempt_finished' && e.job === job && e.ok),
      `successful attempts of ${job}`,
    ).toHaveLength(1);
  }
  expect(events.filter((e) => e.type === 'job_succeeded')).toHaveLength(jobs.length);
  expect(events.filter((e) => e.type === 'run_finished')).toMatchObject([{ state: 'succeeded' }]);
}

describe.skipIf(!natsServerAvailable || !existsSync(BIN))('agent faults', () => {
  let nats: NatsServer;
  let tmp: string;
  let script: string;
  /** Per test: stopped after it, in reverse order. */
  const cleanups: (() => Promise<unknown>)[] = [];
  /** Job processes a test found: killed after it if a failure left them behind. */
  const jobPids: { pid: number; argv: string[] }[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-faults-agent-'));
    script = path.join(tmp, 'job.sh');
    await writeFile(
      script,
      '#!/bin/sh\n' +
        '# job.sh LOG FIRST LATER: note this execution, then sleep (FIRST on attempt 1).\n' +
        'echo "$ALOFT_JOB_ID $ALOFT_ATTEMPT $$" >> "$1"\n' +
        'if [ "$ALOFT_ATTEMPT" = 1 ]; then exec sleep "$2"; fi\n' +
        'exec sleep "$3"\n',
    );
    await chmod(script, 0o755);
  }, 60_000);

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    for (const { pid, argv } of jobPids.splice(0)) {
      if (alive(pid) && pidsOf(argv).includes(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 60_000);

  afterAll(async () => {
    await nats?.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, 60_000);

  // ------------------------------------------------------------------ processes

  async function startScheduler(name: string, lease: string): Promise<Sched> {
    const data = path.join(tmp, name, 'data');
    const d = await daemon(
      [
        'scheduler',
        '--nats', nats.url,
        '--data', data,
        '--listen', '127.0.0.1:0',
        '--token', TOKEN,
        '--lease', lease,
        '--log-level', 'warn',
      ],
      SCHEDULER_READY,
    ); // prettier-ignore
    cleanups.push(() => d.stop());
    return { d, addr: schedulerAddress(d), data };
  }

  async function startAgent(test: string, id: string, url = nats.url, slots = 1): Promise<Daemon> {
    const d = await daemon(
      [
        'agent', '--nats', url, '--site', 'local', '--id', id,
        '--work', path.join(tmp, test, 'agents', id), '--slots', String(slots),
        '--heartbeat', HEARTBEAT, '--drain-grace', '1s', '--log-level', 'warn',
      ],
      /serving site/,
    ); // prettier-ignore
    cleanups.push(() => d.stop());
    return d;
  }

  const client = (s: Sched, args: string[]) =>
    aloft([...args, '--scheduler', s.addr, '--token', TOKEN], {
      env: { ALOFT_SCHEDULER: '', ALOFT_TOKEN: '' },
    });

  /** Wait until the scheduler lists every agent of `ids` as ready. */
  async function agentsReady(s: Sched, ids: string[]): Promise<void> {
    let last = '';
    await until(`agents ${ids.join(', ')} to be ready`, async () => {
      const r = await client(s, ['agents', '--json']);
      last = r.code === 0 ? r.stdout : r.stderr;
      if (r.code !== 0) return false;
      const { agents } = JSON.parse(r.stdout) as {
        agents: { ad?: { agent: string }; state: string }[];
      };
      return ids.every((id) => agents.some((a) => a.ad?.agent === id && a.state === 'ready'));
    }).catch((e: Error) => {
      throw new Error(`${e.message}; the scheduler's last answer: ${last}`);
    });
  }

  async function spy(name: string): Promise<NatsTransport> {
    const t = await createNatsTransport({
      servers: nats.url,
      name,
      codec: createProtobufCodec(),
    });
    cleanups.push(() => t.close());
    return t;
  }

  // ------------------------------------------------------------------ workflows

  /** Write a workflow of `jobs` running the job script; returns its file and execution log. */
  async function workflow(test: string, jobs: JobSpec[]): Promise<{ file: string; log: string }> {
    const dir = path.join(tmp, test);
    await mkdir(dir, { recursive: true });
    const log = path.join(dir, 'executions.log');
    const lines = jobs.map(
      (j) =>
        `  - {type: job, name: t, id: ${j.id}, arguments: ["${log}", "${j.first}", "${j.later ?? j.first}"], uses: [], profiles: {dagman: {retry: 0}}}\n`,
    );
    const deps = jobs.flatMap((j) =>
      (j.parents ?? []).map((p) => `  - {id: ${p}, children: [${j.id}]}\n`),
    );
    const file = path.join(dir, 'workflow.yml');
    await writeFile(
      file,
      `pegasus: "5.0.4"\nname: ${test}\ntransformationCatalog:\n  transformations:\n` +
        `    - {name: t, sites: [{name: local, pfn: ${script}, type: installed}]}\n` +
        `jobs:\n${lines.join('')}jobDependencies:\n${deps.length > 0 ? deps.join('') : '  []\n'}`,
    );
    return { file, log };
  }

  async function submit(s: Sched, test: string, file: string): Promise<string> {
    const r = await client(s, ['submit', file, '--output-dir', path.join(tmp, test, 'out')]);
    expect(r.code, r.stderr).toBe(0);
    return path.join(s.data, 'runs', r.stdout.trim());
  }

  const journal = (runDir: string): JournalEvent[] =>
    existsSync(path.join(runDir, 'journal.jsonl')) ? readJournalSync(runDir) : [];

  async function finished(runDir: string, ms = 90_000): Promise<JournalEvent[]> {
    let events: JournalEvent[] = [];
    await until(
      `the workflow in ${runDir} to finish`,
      () => (events = journal(runDir)).some((e) => e.type === 'run_finished'),
      ms,
    );
    return events;
  }

  async function started(runDir: string, job: string, attempt: number) {
    let ev: Extract<JournalEvent, { type: 'attempt_started' }> | undefined;
    await until(`attempt ${attempt} of ${job} to start`, () => {
      ev = journal(runDir).find(
        (e): e is Extract<JournalEvent, { type: 'attempt_started' }> =>
          e.type === 'attempt_started' && e.job === job && e.attempt === attempt,
      );
      return ev !== undefined;
    });
    return ev!;
  }

  function executions(log: string): Execution[] {
    if (!existsSync(log)) return [];
    return readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [job, attempt, pid] = l.split(' ');
        return { job: job!, attempt: Number(attempt), pid: Number(pid) };
      });
  }

  /** The one live process with exactly this argv (the job under test). */
  async function jobProcess(argv: string[]): Promise<number> {
    let pids: number[] = [];
    await until(`a process ${argv.join(' ')}`, () => (pids = pidsOf(argv)).length > 0, 30_000, 25);
    expect(pids, `processes ${argv.join(' ')}`).toHaveLength(1);
    jobPids.push({ pid: pids[0]!, argv });
    return pids[0]!;
  }

  /** Pino JSON lines of a daemon's stderr. */
  function logLines(d: Daemon): Record<string, unknown>[] {
    return d
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  // ------------------------------------------------------------------ tests

  it('kill -9 of an agent mid-job: lost after its lease, rescheduled on the other agent', async () => {
    const T = 'kill';
    const s = await startScheduler(T, '3s');
    const agents = new Map<string, Daemon>();
    for (const id of ['k1', 'k2']) agents.set(id, await startAgent(T, id));
    await agentsReady(s, ['k1', 'k2']);
    const jobs: JobSpec[] = [
      { id: 'pre', first: '0.2' },
      { id: 'victim', first: '300.217', later: '0.3', parents: ['pre'] },
      { id: 'post', first: '0.2', parents: ['victim'] },
      { id: 's0', first: '0.3' },
      { id: 's1', first: '0.3', parents: ['s0'] },
    ];
    const { file, log } = await workflow(T, jobs);
    const runDir = await submit(s, T, file);

    const first = await started(runDir, 'victim', 1);
    const pid = await jobProcess(['sleep', '300.217']);
    const victimAgent = first.agent;
    const other = victimAgent === 'k1' ? 'k2' : 'k1';
    await agents.get(victimAgent)!.kill();
    // The job died with its agent (PDEATHSIG), long before its natural end.
    await until('the job process to die with its agent', () => !alive(pid), 20_000, 25);

    const events = await finished(runDir);
    assertOneCompletionEach(
      events,
      jobs.map((j) => j.id),
    );
    const victim = events.filter(
      (e) => (e.type === 'attempt_finished' || e.type === 'job_retry') && e.job === 'victim',
    );
    // Lost: an infrastructure failure that spent no retry (the job has retry 0).
    expect(victim[0]).toMatchObject({
      type: 'attempt_finished',
      attempt: 1,
      epoch: first.epoch,
      ok: false,
      failure: { kind: 'infrastructure', message: expect.stringMatching(/lost.*lease/) },
    });
    expect(victim[1]).toMatchObject({
      type: 'job_retry',
      nextAttempt: 2,
      failure: { kind: 'infrastructure' },
    });
    expect(await started(runDir, 'victim', 2)).toMatchObject({ agent: other });
    expect(events.find((e) => e.type === 'job_succeeded' && e.job === 'victim')).toMatchObject({
      attempt: 2,
    });
    // Executions: the victim twice (the killed attempt, the rescheduled one), the rest once.
    const runs = executions(log);
    for (const j of jobs) {
      expect(
        runs.filter((r) => r.job === j.id).map((r) => r.attempt),
        j.id,
      ).toEqual(j.id === 'victim' ? [1, 2] : [1]);
    }
    expect(runs.find((r) => r.job === 'victim' && r.attempt === 1)?.pid).toBe(pid);
  }, 150_000);

  it('kill -9 and restart of an agent within its lease: the vanished attempt is rescheduled', async () => {
    const T = 'restart';
    const s = await startScheduler(T, '10s');
    let agent = await startAgent(T, 'r1');
    await agentsReady(s, ['r1']);
    const jobs: JobSpec[] = [
      { id: 'gone', first: '300.389', later: '0.3' },
      { id: 'next', first: '0.2', parents: ['gone'] },
    ];
    const { file, log } = await workflow(T, jobs);
    const runDir = await submit(s, T, file);
    const first = await started(runDir, 'gone', 1);
    const pid = await jobProcess(['sleep', '300.389']);
    await agent.kill();
    await until('the job process to die with its agent', () => !alive(pid), 20_000, 25);
    // Back at once (well within the lease), same id and work dir: it runs nothing now.
    agent = await startAgent(T, 'r1');

    const events = await finished(runDir);
    assertOneCompletionEach(
      events,
      jobs.map((j) => j.id),
    );
    const lost = events.find(
      (e) => e.type === 'attempt_finished' && e.job === 'gone' && e.epoch === first.epoch,
    );
    // Noticed because its (live) agent stopped reporting it, not by the agent's lease.
    expect(lost).toMatchObject({
      ok: false,
      failure: { kind: 'infrastructure', message: expect.stringMatching(/not reported/) },
    });
    expect(
      executions(log).map((r) => `${r.job}.${r.attempt}`),
      'executions',
    ).toEqual(['gone.1', 'gone.2', 'next.1']);
  }, 150_000);

  it('a cut shorter than the lease: no reschedule, the result accepted once', async () => {
    const T = 'short-cut';
    const s = await startScheduler(T, '4s');
    const proxy = await startTcpProxy(nats.port);
    cleanups.push(() => proxy.close());
    const watch = await spy('short-cut-spy');
    const beats: number[] = [];
    watch.subscribe<Heartbeat>(subjects.heartbeat('c1'), () => beats.push(performance.now()));
    await startAgent(T, 'c1', proxy.url);
    await agentsReady(s, ['c1']);
    const jobs: JobSpec[] = [
      { id: 'during', first: '2.513' },
      { id: 'after', first: '0.2', parents: ['during'] },
    ];
    const { file, log } = await workflow(T, jobs);
    const runDir = await submit(s, T, file);
    await started(runDir, 'during', 1);
    await jobProcess(['sleep', '2.513']).catch(() => undefined);

    proxy.cut();
    const cutAt = performance.now();
    // The cut is real: no heartbeat reaches the server for 1.5 s.
    await until(
      'a 1.5 s silence',
      () => performance.now() - Math.max(cutAt, beats.at(-1) ?? 0) >= 1500,
      20_000,
      20,
    );
    proxy.restore();
    const accepted = proxy.accepted();
    await until('the agent to reconnect through the proxy', () => proxy.accepted() > accepted);
    await until('heartbeats to resume', () => (beats.at(-1) ?? 0) > performance.now() - 1000);

    const events = await finished(runDir);
    assertOneCompletionEach(
      events,
      jobs.map((j) => j.id),
    );
    // Nothing lost, nothing rescheduled: one attempt per job, each successful.
    expect(events.filter((e) => e.type === 'attempt_started')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'attempt_finished' && !e.ok)).toHaveLength(0);
    expect(events.filter((e) => e.type === 'job_retry')).toHaveLength(0);
    expect(executions(log).map((r) => `${r.job}.${r.attempt}`)).toEqual(['during.1', 'after.1']);
  }, 150_000);

  it('a cut longer than the lease: rescheduled, the orphan killed on restore, its late result rejected', async () => {
    const T = 'long-cut';
    const s = await startScheduler(T, '3s');
    const proxy = await startTcpProxy(nats.port);
    cleanups.push(() => proxy.close());
    await startAgent(T, 'l1', proxy.url);
    await agentsReady(s, ['l1']);
    const jobs: JobSpec[] = [
      { id: 'orphan', first: '300.531', later: '3' },
      { id: 'tail', first: '0.2', parents: ['orphan'] },
    ];
    const { file, log } = await workflow(T, jobs);
    const runDir = await submit(s, T, file);
    const first = await started(runDir, 'orphan', 1);
    expect(first.agent).toBe('l1');
    const pid = await jobProcess(['sleep', '300.531']);
    // A second agent, not behind the proxy, to take the job over.
    await startAgent(T, 'l2');

    proxy.cut();
    const second = await started(runDir, 'orphan', 2);
    expect(second.agent).toBe('l2');
    const lost = journal(runDir).find(
      (e) => e.type === 'attempt_finished' && e.job === 'orphan' && e.epoch === first.epoch,
    );
    expect(lost).toMatchObject({ ok: false, failure: { kind: 'infrastructure' } });
    // Still running on the cut-off agent: it cannot know yet.
    expect(alive(pid)).toBe(true);

    proxy.restore();
    // Back: its heartbeat names the orphan, which the scheduler has it kill.
    await until('the orphan to be killed', () => !alive(pid), 30_000, 25);

    const events = await finished(runDir);
    assertOneCompletionEach(
      events,
      jobs.map((j) => j.id),
    );
    // The orphan's attempt is journaled once, as lost; its own (cancelled) result is not.
    expect(
      events.filter(
        (e) => e.type === 'attempt_finished' && e.job === 'orphan' && e.epoch === first.epoch,
      ),
    ).toHaveLength(1);
    expect(events.find((e) => e.type === 'job_succeeded' && e.job === 'orphan')).toMatchObject({
      attempt: 2,
    });
    // The late result reached the scheduler and was rejected (logged, acked, not journaled).
    await until('the late result to be rejected', () =>
      logLines(s.d).some(
        (l) =>
          (l['msg'] === 'late result of a lost attempt ignored' ||
            l['msg'] === 'result for no workflow') &&
          l['job'] === 'orphan' &&
          l['epoch'] === first.epoch,
      ),
    );
    expect(executions(log).map((r) => `${r.job}.${r.attempt}`)).toEqual([
      'orphan.1',
      'orphan.2',
      'tail.1',
    ]);
  }, 150_000);

  it('duplicate deliveries of offers: every job still runs once', async () => {
    const T = 'dup-offers';
    const s = await startScheduler(T, '10s');
    const snoop = await spy('dup-offers-spy');
    const seen = new Set<string>();
    const replies: { key: string; reply: OfferReply; late: boolean }[] = [];
    let redelivering = 0;
    const offers = new Map<string, Offer>();
    const redeliver = (offer: Offer, late: boolean): void => {
      redelivering++;
      snoop
        .request<OfferReply>(subjects.offer('o1'), offer, { timeoutMs: 10_000 })
        .then((reply) => replies.push({ key: keyId(offer.key), reply, late }))
        .catch(() => undefined)
        .finally(() => redelivering--);
    };
    // Each offer the scheduler sends is delivered again, twice at once (our own copies come
    // back to this subscription too: only the first sighting of a key counts) ...
    snoop.subscribe<Offer>(subjects.offer('o1'), (m) => {
      const k = keyId(m.data.key);
      if (seen.has(k)) return;
      seen.add(k);
      offers.set(k, m.data);
      redeliver(m.data, false);
      redeliver(m.data, false);
    });
    // ... and once more after its result was acknowledged (the agent has long finished it).
    const acked = new Set<string>();
    snoop.subscribe<ResultAck>(subjects.ack('o1'), (m) => {
      const k = keyId(m.data.key);
      const offer = offers.get(k);
      if (!offer || acked.has(k)) return;
      acked.add(k);
      redeliver(offer, true);
    });
    const beats: { at: number; running: number }[] = [];
    snoop.subscribe<Heartbeat>(subjects.heartbeat('o1'), (m) =>
      beats.push({ at: performance.now(), running: m.data.running.length }),
    );
    await snoop.flush();
    await startAgent(T, 'o1', nats.url, 2);
    await agentsReady(s, ['o1']);
    const jobs: JobSpec[] = [
      { id: 'a', first: '0.3' },
      { id: 'b', first: '0.3', parents: ['a'] },
      { id: 'c', first: '0.3', parents: ['b'] },
      { id: 'x', first: '0.5' },
      { id: 'y', first: '0.1' },
      { id: 'z', first: '0.1', parents: ['x', 'y'] },
    ];
    const { file, log } = await workflow(T, jobs);
    const runDir = await submit(s, T, file);
    const events = await finished(runDir);

    // Every re-delivery answered, and then a heartbeat showing nothing running: any
    // execution a duplicate started would have logged itself by now.
    await until('every re-delivered offer to be answered', () => {
      return acked.size === jobs.length && redelivering === 0;
    });
    const answeredAt = performance.now();
    await until('an idle heartbeat after the last answer', () =>
      beats.some((b) => b.at > answeredAt && b.running === 0),
    );
    // One offer per job: no offer was refused for a slot a duplicate had taken.
    expect(seen.size).toBe(jobs.length);
    expect(replies.filter((r) => !r.late)).toHaveLength(2 * jobs.length);
    expect(replies.filter((r) => r.late)).toHaveLength(jobs.length);
    // A duplicate of a running attempt is accepted without a second run; one of a
    // finished attempt is refused, saying why.
    for (const r of replies.filter((x) => !x.late)) {
      if (r.reply.accepted) continue;
      expect(r.reply, r.key).toMatchObject({ reason: expect.stringMatching(/already ran/) });
    }
    for (const r of replies.filter((x) => x.late)) {
      expect(r.reply, r.key).toMatchObject({
        accepted: false,
        reason: expect.stringMatching(/already ran/),
      });
    }

    assertOneCompletionEach(
      events,
      jobs.map((j) => j.id),
    );
    expect(events.filter((e) => e.type === 'attempt_started')).toHaveLength(jobs.length);
    const runs = executions(log);
    for (const j of jobs)
      expect(
        runs.filter((r) => r.job === j.id),
        j.id,
      ).toHaveLength(1);
  }, 150_000);

  it('duplicate deliveries of results: one completion each, the workflow succeeds', async () => {
    const T = 'dup-results';
    const s = await startScheduler(T, '10s');
    const snoop = await spy('dup-results-spy');
    const COPIES_NOW = 3;
    const COPIES_AFTER_ACK = 2;
    const results = new Map<string, AttemptResultMsg>();
    const acks = new Map<string, number>();
    snoop.subscribe<AttemptResultMsg>(subjects.attemptResult('d1'), (m) => {
      const k = keyId(m.data.key);
      if (results.has(k)) return; // our own copies, or the agent retransmitting
      results.set(k, m.data);
      for (let i = 0; i < COPIES_NOW; i++) snoop.publish(subjects.attemptResult('d1'), m.data);
    });
    snoop.subscribe<ResultAck>(subjects.ack('d1'), (m) => {
      const k = keyId(m.data.key);
      const n = (acks.get(k) ?? 0) + 1;
      acks.set(k, n);
      const result = results.get(k);
      // After the first ack: more copies of a result the scheduler already journaled.
      if (n === 1 && result) {
        for (let i = 0; i < COPIES_AFTER_ACK; i++) {
          snoop.publish(subjects.attemptResult('d1'), result);
        }
      }
    });
    await snoop.flush();
    await startAgent(T, 'd1', nats.url, 2);
    await agentsReady(s, ['d1']);
    const jobs: JobSpec[] = [
      { id: 'p', first: '0.2' },
      { id: 'q', first: '0.2', parents: ['p'] },
      { id: 'r', first: '0.2', parents: ['p'] },
      { id: 's', first: '0.2', parents: ['q', 'r'] },
    ];
    const { file, log } = await workflow(T, jobs);
    const runDir = await submit(s, T, file);
    const events = await finished(runDir);
    expect(results.size).toBe(jobs.length);
    // Every copy reached the scheduler and was acknowledged as a duplicate. Those of the
    // last job may arrive while the run is being closed, and are then dropped unacked (an
    // agent's retransmission is acked once the run is closed): they are not counted.
    const last = events.find((e) => e.type === 'job_succeeded' && e.job === 's');
    expect(last).toBeDefined();
    await until('every copy to be acknowledged', () =>
      [...results.keys()]
        .filter((k) => !k.startsWith('s.'))
        .every((k) => (acks.get(k) ?? 0) >= 1 + COPIES_NOW + COPIES_AFTER_ACK),
    );
    expect([...results.keys()].filter((k) => !k.startsWith('s.'))).toHaveLength(3);

    assertOneCompletionEach(
      events,
      jobs.map((j) => j.id),
    );
    expect(events.filter((e) => e.type === 'attempt_finished')).toHaveLength(jobs.length);
    const runs = executions(log);
    for (const j of jobs)
      expect(
        runs.filter((r) => r.job === j.id),
        j.id,
      ).toHaveLength(1);
    const st = await client(s, ['status', path.basename(runDir), '--json']);
    expect(JSON.parse(st.stdout) as { state: string }).toMatchObject({ state: 'succeeded' });
  }, 150_000);
});

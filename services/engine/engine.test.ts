/**
 * The engine driver against the real in-process transport and a real journal on disk. The
 * agent here is a test peer speaking the proto messages (offers, started, results with
 * retransmission until acked, kills); the real agent is exercised end to end by
 * test/run-*.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { plannedJob as job, planOf } from '../../test/helpers/plans.js';
import { createInProcessTransport } from '../../lib/transport/index.js';
import type { Transport } from '../../lib/transport/index.js';
import type {
  AgentAd,
  AttemptKey,
  AttemptOutcome,
  AttemptResultMsg,
  Failure,
  InvocationRecord,
  KillMsg,
  Offer,
  OfferReply,
  Plan,
  PlannedJob,
  ResultAck,
} from '../../proto/index.js';
import { subjects } from '../../proto/index.js';
import { openJournal, readJournalSync, type JournalEvent } from '../journal/index.js';
import { OutputReplicaCatalog } from '../run/index.js';
import { createEngine, type EngineOptions } from './index.js';

type Behaviour = (job: PlannedJob, attempt: number) => { ms: number; fail?: Failure['kind'] };

interface PeerOptions {
  id?: string;
  slots?: number;
  behaviour?: Behaviour;
  /** Never report results (an agent that vanished mid-attempt). */
  silent?: boolean;
  retransmitMs?: number;
}

/** A minimal agent: accepts offers up to its slots, "runs" with timers, reports, retransmits. */
class TestAgent {
  readonly id: string;
  readonly slots: number;
  running = 0;
  maxRunning = 0;
  offers: AttemptKey[] = [];
  acks: AttemptKey[] = [];
  private readonly unacked = new Map<string, AttemptResultMsg>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private retransmit?: NodeJS.Timeout;

  constructor(
    private readonly t: Transport,
    private readonly o: PeerOptions = {},
  ) {
    this.id = o.id ?? 'peer';
    this.slots = o.slots ?? 2;
  }

  start(): void {
    this.t.subscribe<Offer>(subjects.offer(this.id), (m) => this.onOffer(m.data, m.reply!));
    this.t.subscribe<ResultAck>(subjects.ack(this.id), (m) => {
      this.acks.push(m.data.key);
      this.unacked.delete(k(m.data.key));
    });
    this.t.subscribe<KillMsg>(subjects.kill(this.id), (m) => this.onKill(m.data));
    const ad: AgentAd = {
      agent: this.id,
      site: 'local',
      sites: [],
      host: 'peer-host',
      slots: this.slots,
      cores: 2,
      memoryMb: 1024,
      diskFreeMb: 1024,
      executors: ['process'],
      labels: {},
    };
    this.t.publish(subjects.ad(this.id), ad);
    this.retransmit = setInterval(() => {
      for (const r of this.unacked.values()) this.t.publish(subjects.attemptResult(this.id), r);
    }, this.o.retransmitMs ?? 5);
  }

  stop(): void {
    clearInterval(this.retransmit);
    for (const t of this.timers.values()) clearTimeout(t);
  }

  private onOffer(offer: Offer, reply: (d: unknown) => void): void {
    this.offers.push(offer.key);
    if (this.running >= this.slots) {
      reply({ accepted: false, reason: 'full' } satisfies OfferReply);
      return;
    }
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    reply({ accepted: true } satisfies OfferReply);
    this.t.publish(subjects.attemptStarted(this.id), {
      key: offer.key,
      agent: this.id,
      site: 'local',
      host: 'peer-host',
    });
    if (this.o.silent) return;
    const behaviour: Behaviour = this.o.behaviour ?? (() => ({ ms: 1 }));
    const b = behaviour(offer.job, offer.key.attempt);
    const timer = setTimeout(() => this.report(offer, b.fail), b.ms);
    this.timers.set(k(offer.key), timer);
  }

  private onKill(msg: KillMsg): void {
    const timer = this.timers.get(k(msg.key));
    if (!timer) return;
    clearTimeout(timer);
    this.report({ key: msg.key, runId: '', job: { id: msg.key.job } as PlannedJob }, 'cancelled');
  }

  report(offer: Offer, fail?: Failure['kind']): void {
    this.timers.delete(k(offer.key));
    this.running--;
    const rec = record(offer.key, fail ? 1 : 0, offer.job.outputs?.map((o) => o.lfn) ?? []);
    const outcome: AttemptOutcome = fail
      ? { ok: false, record: rec, failure: { kind: fail, message: `it failed (${fail})` } }
      : { ok: true, record: rec };
    const msg: AttemptResultMsg = { key: offer.key, agent: this.id, outcome };
    this.unacked.set(k(offer.key), msg);
    this.t.publish(subjects.attemptResult(this.id), msg);
  }
}

const k = (key: AttemptKey): string => `${key.job}/${key.attempt}/${key.epoch}`;

function record(key: AttemptKey, exitCode: number, outputs: string[]): InvocationRecord {
  return {
    job: key.job,
    attempt: key.attempt,
    agent: 'peer',
    site: 'local',
    host: 'peer-host',
    user: 'u',
    executor: 'process',
    argv: ['/bin/true'],
    cwd: '/',
    start: new Date().toISOString(),
    durationMs: 1,
    exitCode,
    signal: null,
    utimeMs: 0,
    stimeMs: 0,
    maxRssKb: 0,
    stdoutTail: '',
    stderrTail: '',
    stdoutBytes: 0,
    stderrBytes: 0,
    files: outputs.map((lfn) => ({
      lfn,
      link: 'output' as const,
      size: lfn.length,
      sha256: createHash('sha256').update(lfn).digest('hex'),
    })),
    transfers: [],
  };
}

let dir: string;
const cleanups: (() => void | Promise<void>)[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'aloft-engine-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

async function setup(plan: Plan, peer: PeerOptions = {}, extra: Partial<EngineOptions> = {}) {
  const transport = createInProcessTransport();
  const journal = await openJournal(dir);
  const agent = new TestAgent(transport, peer);
  const engine = createEngine({
    plan,
    journal,
    transport,
    runId: 'r1',
    planDigest: 'd',
    retryDelayMs: 2,
    outputReplicas: OutputReplicaCatalog.open(path.join(dir, 'output-replicas.yml')),
    ...extra,
  });
  cleanups.push(async () => {
    agent.stop();
    await journal.close();
    await transport.close();
  });
  return { transport, journal, agent, engine };
}

const ofType = <T extends JournalEvent['type']>(events: JournalEvent[], type: T) =>
  events.filter((e): e is Extract<JournalEvent, { type: T }> => e.type === type);

const diamond = (): PlannedJob[] => [
  job('a'),
  job('b', ['a']),
  job('c', ['a']),
  job('d', ['b', 'c']),
];

describe('engine', () => {
  it('runs a DAG to success, journaling each attempt before acting, within the agent slots', async () => {
    const jobs = [...diamond(), ...Array.from({ length: 8 }, (_, i) => job(`w${i}`, ['a']))];
    const { agent, engine } = await setup(planOf(jobs), { slots: 3, behaviour: () => ({ ms: 3 }) });
    const done = engine.run();
    agent.start();
    expect(await done).toBe('succeeded');
    expect(engine.counts()).toEqual({ unready: 0, ready: 0, running: 0, done: 12, failed: 0 });
    expect(agent.maxRunning).toBeLessThanOrEqual(3);
    const ev = readJournalSync(dir);
    expect(ev[0]).toMatchObject({ type: 'run_started', resumed: false, jobs: 12 });
    expect(ev[ev.length - 1]).toMatchObject({ type: 'run_finished', state: 'succeeded' });
    const seqOf = (type: string, jobId: string) =>
      ev.find((e) => e.type === type && 'job' in e && e.job === jobId)!.seq;
    for (const j of jobs) {
      expect(seqOf('attempt_started', j.id)).toBeLessThan(seqOf('attempt_finished', j.id));
      expect(seqOf('attempt_finished', j.id)).toBeLessThan(seqOf('job_succeeded', j.id));
      for (const p of j.parents) {
        expect(seqOf('job_succeeded', p)).toBeLessThan(seqOf('attempt_started', j.id));
      }
    }
    expect(ofType(ev, 'job_succeeded')).toHaveLength(12);
    // Every result was acknowledged, and only after its decision was durable.
    expect(new Set(agent.acks.map(k)).size).toBe(12);
  });

  it('retries a failing job, fails it when out of retries, never starts its descendants, finishes independent work', async () => {
    const jobs = [
      job('bad', [], { retries: 2 }),
      job('child', ['bad']),
      job('grandchild', ['child']),
      job('ind1'),
      job('ind2', ['ind1']),
    ];
    const { agent, engine } = await setup(planOf(jobs), {
      behaviour: (j) => (j.id === 'bad' ? { ms: 1, fail: 'application' } : { ms: 5 }),
    });
    const done = engine.run();
    agent.start();
    expect(await done).toBe('failed');
    const ev = readJournalSync(dir);
    expect(
      ofType(ev, 'attempt_started')
        .filter((e) => e.job === 'bad')
        .map((e) => e.attempt),
    ).toEqual([1, 2, 3]);
    expect(ofType(ev, 'job_retry').map((e) => [e.job, e.nextAttempt])).toEqual([
      ['bad', 2],
      ['bad', 3],
    ]);
    expect(ofType(ev, 'job_failed')).toMatchObject([{ job: 'bad', attempts: 3 }]);
    expect(
      ofType(ev, 'attempt_started').some((e) => e.job === 'child' || e.job === 'grandchild'),
    ).toBe(false);
    expect(
      ofType(ev, 'job_succeeded')
        .map((e) => e.job)
        .sort(),
    ).toEqual(['ind1', 'ind2']);
    expect(ev[ev.length - 1]).toMatchObject({ type: 'run_finished', state: 'failed' });
    expect(engine.counts()).toEqual({ unready: 2, ready: 0, running: 0, done: 2, failed: 1 });
    expect(engine.retries()).toBe(2);
  });

  it('acks and ignores duplicate and stale results: one accepted completion per attempt', async () => {
    const { transport, agent, engine } = await setup(planOf(diamond()), {
      behaviour: () => ({ ms: 2 }),
      retransmitMs: 1,
    });
    const acks: AttemptKey[] = [];
    transport.subscribe<ResultAck>(subjects.ack('peer'), (m) => acks.push(m.data.key));
    const injected: AttemptKey[] = [];
    // Re-publish every result three more times, plus one with a forged epoch, once the
    // first copy has been seen.
    transport.subscribe<AttemptResultMsg>(subjects.allResults, (m) => {
      const key = m.data.key;
      if (key.epoch > 1000) return;
      if (injected.some((x) => k(x) === k(key))) return;
      injected.push(key);
      for (let i = 0; i < 3; i++) transport.publish(subjects.attemptResult('peer'), m.data);
      const forged = { ...m.data, key: { ...key, epoch: key.epoch + 1000 } };
      transport.publish(subjects.attemptResult('peer'), forged);
    });
    const done = engine.run();
    agent.start();
    expect(await done).toBe('succeeded');
    await new Promise((r) => setTimeout(r, 30));
    const ev = readJournalSync(dir);
    const finished = ofType(ev, 'attempt_finished').map((e) => `${e.job}/${e.attempt}/${e.epoch}`);
    expect(new Set(finished).size).toBe(finished.length);
    expect(finished).toHaveLength(4);
    expect(
      ofType(ev, 'job_succeeded')
        .map((e) => e.job)
        .sort(),
    ).toEqual(['a', 'b', 'c', 'd']);
    // Forged (stale) keys were acked too, so an agent would stop resending them.
    expect(acks.some((a) => a.epoch > 1000)).toBe(true);
    // No event after run_finished.
    expect(ev[ev.length - 1]!.type).toBe('run_finished');
  });

  it('stops on abort: kills running attempts, journals their cancellation and run_finished interrupted; a new engine resumes without redoing done jobs', async () => {
    const jobs = [job('quick'), ...Array.from({ length: 4 }, (_, i) => job(`slow${i}`, ['quick']))];
    const plan = planOf(jobs);
    const first = await setup(plan, {
      slots: 2,
      behaviour: (j) => ({ ms: j.id === 'quick' ? 1 : 60_000 }),
    });
    const ac = new AbortController();
    const done = first.engine.run(ac.signal);
    first.agent.start();
    while (first.engine.counts().running < 2 || first.engine.counts().done < 1) {
      await new Promise((r) => setTimeout(r, 2));
    }
    await first.journal.flush();
    ac.abort();
    expect(await done).toBe('interrupted');
    const ev1 = readJournalSync(dir);
    expect(ev1[ev1.length - 1]).toMatchObject({ type: 'run_finished', state: 'interrupted' });
    const cancelled = ofType(ev1, 'attempt_finished').filter(
      (e) => e.failure?.kind === 'cancelled',
    );
    expect(cancelled).toHaveLength(2);
    first.agent.stop();
    await first.journal.close();

    const transport = createInProcessTransport();
    const journal = await openJournal(dir);
    const agent = new TestAgent(transport, { slots: 2, behaviour: () => ({ ms: 2 }) });
    cleanups.push(async () => {
      agent.stop();
      await journal.close();
      await transport.close();
    });
    const engine = createEngine({ plan, journal, transport, runId: 'r1', planDigest: 'd' });
    const done2 = engine.run();
    agent.start();
    expect(await done2).toBe('succeeded');
    expect(agent.offers.some((o) => o.job === 'quick')).toBe(false);
    const ev = readJournalSync(dir);
    const after = ev.slice(ev1.length);
    expect(after[0]).toMatchObject({ type: 'run_started', resumed: true });
    expect(
      ofType(ev, 'job_succeeded')
        .map((e) => e.job)
        .sort(),
    ).toEqual(['quick', 'slow0', 'slow1', 'slow2', 'slow3'].sort());
    // The cancelled attempts are retried with the next attempt number, spending no retry
    // (the jobs have retries: 0).
    for (const c of cancelled) {
      expect(ofType(after, 'attempt_started').find((e) => e.job === c.job)!.attempt).toBe(
        c.attempt + 1,
      );
    }
  });

  it('after a crash, closes attempts the dead process left open as cancelled and reruns them', async () => {
    const plan = planOf([job('a'), job('b', ['a'])]);
    const first = await setup(plan, { silent: true });
    // This engine never finishes: its process "dies" below.
    first.engine.run().catch(() => undefined);
    first.agent.start();
    while (!first.journal.events.some((e) => e.type === 'attempt_started')) {
      await new Promise((r) => setTimeout(r, 2));
    }
    await first.journal.flush();
    // The process "dies" here: nothing more from the first engine reaches the journal.
    first.agent.stop();
    await first.journal.close();

    const transport = createInProcessTransport();
    const journal = await openJournal(dir);
    const agent = new TestAgent(transport, {});
    cleanups.push(async () => {
      agent.stop();
      await journal.close();
      await transport.close();
    });
    const engine = createEngine({ plan, journal, transport, runId: 'r1', planDigest: 'd' });
    const done = engine.run();
    agent.start();
    expect(await done).toBe('succeeded');
    const ev = readJournalSync(dir);
    const resumedAt = ev.findIndex((e) => e.type === 'run_started' && e.resumed);
    expect(ev.slice(resumedAt + 1, resumedAt + 3)).toMatchObject([
      { type: 'attempt_finished', job: 'a', attempt: 1, ok: false, failure: { kind: 'cancelled' } },
      { type: 'job_retry', job: 'a', nextAttempt: 2, resume: true },
    ]);
    expect(ofType(ev, 'job_succeeded')).toMatchObject([
      { job: 'a', attempt: 2 },
      { job: 'b', attempt: 1 },
    ]);
  });

  it('runs register jobs itself, writing the output replica catalog with sha256 and size', async () => {
    const produce = job('produce', [], {
      outputs: [{ lfn: 'f.out', url: 'file:///store/f.out' }],
    });
    const reg = job('register_produce', ['produce'], {
      kind: 'register',
      registrations: [{ lfn: 'f.out', pfn: 'file:///outputs/f.out', site: 'local' }],
    });
    const { agent, engine } = await setup(planOf([produce, reg]));
    const done = engine.run();
    agent.start();
    expect(await done).toBe('succeeded');
    expect(agent.offers.map((o) => o.job)).toEqual(['produce']);
    const doc = yaml.load(readFileSync(path.join(dir, 'output-replicas.yml'), 'utf8')) as {
      pegasus: string;
      replicas: {
        lfn: string;
        pfns: { site: string; pfn: string }[];
        checksum: { sha256: string };
      }[];
    };
    expect(doc.pegasus).toBe('5.0');
    expect(doc.replicas).toEqual([
      {
        lfn: 'f.out',
        pfns: [{ site: 'local', pfn: 'file:///outputs/f.out' }],
        checksum: { sha256: createHash('sha256').update('f.out').digest('hex') },
        metadata: { size: '5' },
      },
    ]);
    const started = ofType(readJournalSync(dir), 'attempt_finished').find(
      (e) => e.job === 'register_produce',
    )!;
    expect(started.record.executor).toBe('register');
    expect(started.ok).toBe(true);
  });
});

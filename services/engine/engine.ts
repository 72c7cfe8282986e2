/**
 * The engine driver: runs a plan by feeding the pure state machine (engine-state.ts) with
 * what happens — agent ads, offer replies, attempt results, retry timers, Ctrl-C — and
 * carrying out its decisions through the transport, the journal and timers. It owns the
 * agents' slot accounting, attempt fencing on the wire, result acknowledgement and
 * deduplication, in-engine `register` jobs, and stopping.
 *
 * Ordering contract ("journal before telling anyone", DESIGN §6):
 * - an offer is sent only once every event appended before it is durable;
 * - `attempt_started` is appended when the agent accepts, before anything acts on it;
 * - `attempt_finished` and the decision (`job_succeeded` / `job_retry` / `job_failed`) are
 *   durable before the result is acknowledged, so an agent retransmits until then;
 * - results for anything but the job's current attempt are acked and ignored (stale), and a
 *   result for an attempt already finished is acked and ignored (duplicate).
 *
 * The state is updated as events are appended (in append order, which is file order); the
 * durability waits above gate only what leaves the process.
 */
import os from 'node:os';
import { AloftError, toAloftError } from '../../lib/errors/index.js';
import { silentLogger, type Logger } from '../../lib/logging/index.js';
import { backoffDelay } from '../../lib/retry/index.js';
import type { Subscription, Transport } from '../../lib/transport/transport.js';
import type {
  AgentAd,
  AttemptResultMsg,
  AttemptStartedMsg,
  KillMsg,
  Offer,
  OfferReply,
  ResultAck,
} from '../../proto/agent-protocol.js';
import {
  emptyInvocationRecord,
  type AttemptKey,
  type AttemptOutcome,
  type InvocationRecord,
} from '../../proto/attempt.js';
import type { Plan, PlannedJob } from '../../proto/plan.js';
import { subjects } from '../../proto/subjects.js';
import type { Journal, JournalEvent, NewEvent, RunEndState } from '../journal/index.js';
import type { OutputReplica, OutputReplicaCatalog } from '../run/index.js';
import { EngineState, type Counts, type Dispatch } from './engine-state.js';

export interface EngineOptions {
  plan: Plan;
  journal: Journal;
  transport: Transport;
  runId: string;
  /** sha256 of the stored plan (journaled in run_started). */
  planDigest: string;
  /** Where `register` jobs record outputs; without it, register jobs fail. */
  outputReplicas?: OutputReplicaCatalog;
  logger?: Logger;
  /** Most jobs of a category running at once (Pegasus dagman category throttles). */
  categoryLimits?: Record<string, number>;
  /** Base delay of the first retry (doubling, jittered, capped at maxRetryDelayMs). Default 1000. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Infrastructure failures of one job that spend no retry (default 5). */
  maxInfrastructureFailures?: number;
  /** How long an agent has to answer an offer (default 15 s). */
  offerTimeoutMs?: number;
  /** After Ctrl-C, how long to wait for killed attempts to report (default 10 s). */
  killGraceMs?: number;
  /** Host name journaled for in-engine (register) attempts. */
  hostname?: string;
  /** Random source for backoff jitter (tests). */
  random?: () => number;
}

export interface Engine {
  /**
   * Run the plan to the end: 'succeeded', 'failed' (nothing more can run and some job
   * failed), or 'interrupted' (the signal aborted). Subscribes to the transport
   * synchronously when called, so agents started after the call are heard.
   * Rejects only on an internal fault (e.g. the journal cannot be written).
   */
  run(signal?: AbortSignal): Promise<RunEndState>;
  counts(): Counts;
  /** job_retry events in the journal (this process and earlier ones). */
  retries(): number;
}

/** The executor name journaled for attempts the engine performs itself. */
export const ENGINE_AGENT = 'engine';

interface AgentSlot {
  ad: AgentAd;
  inFlight: number;
  coolUntil: number;
}

const keyString = (k: AttemptKey): string => `${k.job}\u0000${k.attempt}\u0000${k.epoch}`;

export function createEngine(options: EngineOptions): Engine {
  return new EngineDriver(options);
}

class EngineDriver implements Engine {
  private readonly o: EngineOptions;
  private readonly log: Logger;
  private readonly state: EngineState;
  private readonly jobs = new Map<string, PlannedJob>();
  private readonly agents = new Map<string, AgentSlot>();
  /** Agent of each attempt in flight (offered or running), by key. */
  private readonly assigned = new Map<string, string>();
  /** Results that arrived before their acceptance was journaled. */
  private readonly early = new Map<string, AttemptResultMsg>();
  /** Sizes and checksums of produced files, from successful attempts' records. */
  private readonly produced = new Map<string, { size?: number; sha256?: string }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private subs: Subscription[] = [];
  private halted = false;
  private ended = false;
  private pumping = false;
  private pumpAgain = false;
  private resolveEnd: (s: RunEndState) => void = () => undefined;
  private rejectEnd: (e: unknown) => void = () => undefined;
  private stopWaiter: (() => void) | null = null;

  constructor(options: EngineOptions) {
    this.o = options;
    this.log = (options.logger ?? silentLogger).child({ component: 'engine' });
    const base = options.retryDelayMs ?? 1000;
    const max = options.maxRetryDelayMs ?? 60_000;
    this.state = new EngineState(options.plan.jobs, {
      ...(options.categoryLimits ? { categoryLimits: options.categoryLimits } : {}),
      ...(options.maxInfrastructureFailures !== undefined
        ? { maxInfrastructureFailures: options.maxInfrastructureFailures }
        : {}),
      retryDelay: (n) =>
        backoffDelay(n, {
          initialMs: base,
          maxMs: max,
          ...(options.random ? { random: options.random } : {}),
        }),
    });
    for (const j of options.plan.jobs) this.jobs.set(j.id, j);
    for (const e of options.journal.replayed) {
      this.state.apply(e);
      this.noteProduced(e);
    }
  }

  counts(): Counts {
    return this.state.counts();
  }

  retries(): number {
    return this.state.retries();
  }

  run(signal?: AbortSignal): Promise<RunEndState> {
    const t = this.o.transport;
    this.subs = [
      t.subscribe<AgentAd>(subjects.allAds, (m) => this.guard(() => this.onAd(m.data))),
      t.subscribe<AttemptStartedMsg>(subjects.allStarted, (m) =>
        this.guard(() => this.onStarted(m.data)),
      ),
      t.subscribe<AttemptResultMsg>(subjects.allResults, (m) =>
        this.guard(() => this.onResult(m.data)),
      ),
    ];
    const done = new Promise<RunEndState>((resolve, reject) => {
      this.resolveEnd = resolve;
      this.rejectEnd = reject;
    });
    const onAbort = (): void => this.guard(() => this.stop());
    signal?.addEventListener('abort', onAbort, { once: true });
    this.guard(() => this.begin(signal?.aborted ?? false));
    return done.finally(() => {
      signal?.removeEventListener('abort', onAbort);
      for (const s of this.subs) s.unsubscribe();
      this.subs = [];
      for (const tm of this.timers) clearTimeout(tm);
      this.timers.clear();
    });
  }

  // ------------------------------------------------------------------ lifecycle

  private begin(aborted: boolean): void {
    const resumed = this.o.journal.replayed.length > 0;
    this.append({
      type: 'run_started',
      runId: this.o.runId,
      workflow: this.o.plan.workflow.name,
      planDigest: this.o.planDigest,
      jobs: this.o.plan.jobs.length,
      resumed,
    });
    if (resumed) {
      const events = this.state.resume(new Date().toISOString());
      for (const e of events) this.append(e);
      if (events.length > 0) {
        this.log.info({ events: events.length }, 'resumed: closed what the last process left open');
      }
      for (const job of this.state.retrying()) this.state.wake(job);
    }
    if (aborted) {
      this.stop();
      return;
    }
    this.pump();
    this.checkEnd();
  }

  /** Ctrl-C: dispatch nothing more, kill what runs, wait (bounded) for it to report. */
  private stop(): void {
    if (this.halted || this.ended) return;
    this.halted = true;
    const running = this.state.running();
    this.log.info({ running: running.length }, 'stopping: killing running attempts');
    for (const r of running) {
      if (r.agent === ENGINE_AGENT) continue;
      this.kill(r.agent, r.key, 'run interrupted');
    }
    const grace = this.o.killGraceMs ?? 10_000;
    const finish = (): void => {
      this.stopWaiter = null;
      clearTimeout(timer);
      this.timers.delete(timer);
      void this.finish('interrupted');
    };
    const timer = setTimeout(() => {
      const left = this.state.running().length;
      if (left > 0) this.log.warn({ attempts: left }, 'killed attempts did not report in time');
      finish();
    }, grace);
    this.timers.add(timer);
    this.stopWaiter = finish;
    this.checkStopped();
  }

  private checkStopped(): void {
    if (this.halted && this.stopWaiter && this.state.counts().running === 0) this.stopWaiter();
  }

  private checkEnd(): void {
    if (this.halted) {
      this.checkStopped();
      return;
    }
    if (!this.ended && this.state.settled()) void this.finish(this.state.outcome());
  }

  private async finish(state: RunEndState): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    try {
      await this.o.journal.append({ type: 'run_finished', state });
      this.resolveEnd(state);
    } catch (e) {
      this.rejectEnd(e);
    }
  }

  /** Run a handler; any throw is an internal fault that ends the run. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.log.error({ err: toAloftError(e).toJSON() }, 'engine stopped by an internal fault');
    this.rejectEnd(e);
  }

  /** Append and fold into the state at once (file order = fold order). */
  private append(e: NewEvent): Promise<JournalEvent> {
    const stored = this.o.journal.append(e);
    this.state.apply(e);
    this.noteProduced(e);
    stored.catch((err: unknown) => this.fail(err));
    return stored;
  }

  // ------------------------------------------------------------------ dispatch

  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        for (;;) {
          if (this.halted || this.ended) return;
          const now = Date.now();
          const anyFree = [...this.agents.values()].some(
            (a) => a.inFlight < a.ad.slots && a.coolUntil <= now,
          );
          const d = this.state.take((job) => {
            if (job.kind === 'register') return true;
            // No agent has a free slot: stop scanning (register jobs further down the
            // queue wait for the next free slot; they are cheap and never starve).
            if (!anyFree) return 'stop';
            return this.pick(job, now) !== undefined;
          });
          if (!d) break;
          if (d.job.kind === 'register') this.runRegister(d);
          else this.offer(d, this.pick(d.job, now)!);
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  /** The least busy agent serving the job's site with a free slot. */
  private pick(job: PlannedJob, now: number): AgentSlot | undefined {
    let best: AgentSlot | undefined;
    for (const a of this.agents.values()) {
      if (a.inFlight >= a.ad.slots || a.coolUntil > now) continue;
      if (a.ad.site !== job.site && !a.ad.sites.includes(job.site)) continue;
      if (!best || a.inFlight < best.inFlight) best = a;
    }
    return best;
  }

  private offer(d: Dispatch, agent: AgentSlot): void {
    const id = agent.ad.agent;
    agent.inFlight++;
    this.assigned.set(keyString(d.key), id);
    const offer: Offer = { key: d.key, runId: this.o.runId, job: d.job };
    void (async () => {
      let reply: OfferReply;
      try {
        // Journal before telling anyone: the offer acts on state that must be durable.
        await this.o.journal.flush();
        if (this.halted || this.ended) throw new AloftError('CANCELLED', 'run stopping');
        reply = await this.o.transport.request<OfferReply>(subjects.offer(id), offer, {
          timeoutMs: this.o.offerTimeoutMs ?? 15_000,
        });
      } catch (e) {
        this.guard(() => this.offerFailed(d.key, id, toAloftError(e)));
        return;
      }
      this.guard(() => this.onReply(d, id, reply));
    })();
  }

  private onReply(d: Dispatch, agentId: string, reply: OfferReply): void {
    const k = keyString(d.key);
    if (this.ended) {
      // The run is over and journaled as such: nothing may start now.
      if (reply.accepted) this.kill(agentId, d.key, 'run finished');
      return;
    }
    if (!reply.accepted) {
      this.log.info({ job: d.key.job, agent: agentId, reason: reply.reason }, 'offer rejected');
      this.unassign(k);
      this.cool(agentId, 250);
      this.state.release(d.key);
      this.checkEnd();
      return;
    }
    const ad = this.agents.get(agentId)?.ad;
    const ev = this.state.accepted(d.key, {
      agent: agentId,
      site: d.job.site,
      host: ad?.host ?? 'unknown',
    });
    if (!ev) {
      // No longer ours to run (cannot happen while offers are fenced by epoch; be safe).
      this.kill(agentId, d.key, 'offer no longer current');
      this.unassign(k);
      return;
    }
    this.append(ev);
    if (this.halted) this.kill(agentId, d.key, 'run interrupted');
    const held = this.early.get(k);
    if (held) {
      this.early.delete(k);
      this.onResult(held);
    }
  }

  private offerFailed(key: AttemptKey, agentId: string, e: AloftError): void {
    const k = keyString(key);
    if (this.ended) return;
    this.unassign(k);
    if (e.code !== 'CANCELLED') {
      this.log.warn({ job: key.job, agent: agentId, code: e.code, err: e.message }, 'offer failed');
      // The agent may have accepted without us hearing it: fence that attempt off.
      this.kill(agentId, key, 'offer timed out');
      this.cool(agentId, 1000);
    }
    this.early.delete(k);
    this.state.release(key);
    this.checkEnd();
  }

  private unassign(k: string): void {
    const id = this.assigned.get(k);
    if (id === undefined) return;
    this.assigned.delete(k);
    const a = this.agents.get(id);
    if (a) a.inFlight = Math.max(0, a.inFlight - 1);
  }

  private cool(agentId: string, ms: number): void {
    const a = this.agents.get(agentId);
    if (!a) return;
    a.coolUntil = Date.now() + ms;
    this.later(ms, () => this.pump());
  }

  private later(ms: number, fn: () => void): void {
    const tm = setTimeout(() => {
      this.timers.delete(tm);
      this.guard(fn);
    }, ms);
    this.timers.add(tm);
  }

  private kill(agentId: string, key: AttemptKey, reason: string): void {
    const msg: KillMsg = { key, reason };
    try {
      this.o.transport.publish(subjects.kill(agentId), msg);
    } catch (e) {
      this.log.warn(
        { agent: agentId, job: key.job, err: toAloftError(e).message },
        'kill not sent',
      );
    }
  }

  // ------------------------------------------------------------------ messages

  private onAd(ad: AgentAd): void {
    if (!ad || typeof ad.agent !== 'string' || typeof ad.slots !== 'number') return;
    const prev = this.agents.get(ad.agent);
    this.agents.set(ad.agent, {
      ad: { ...ad, sites: Array.isArray(ad.sites) ? ad.sites : [] },
      inFlight: prev?.inFlight ?? 0,
      coolUntil: prev?.coolUntil ?? 0,
    });
    this.log.debug({ agent: ad.agent, slots: ad.slots, site: ad.site }, 'agent ad');
    this.pump();
  }

  private onStarted(msg: AttemptStartedMsg): void {
    this.log.debug(
      { job: msg.key?.job, attempt: msg.key?.attempt, agent: msg.agent },
      'attempt running',
    );
  }

  private onResult(msg: AttemptResultMsg): void {
    // After run_finished nothing more is journaled; unacked, the agent's outbox keeps the
    // result for the next run of this directory to deduplicate.
    if (this.ended) return;
    if (!msg?.key || typeof msg.key.job !== 'string' || !msg.outcome) return;
    const key = msg.key;
    const verdict = this.state.decideResult(key, msg.outcome);
    switch (verdict.kind) {
      case 'early':
        this.early.set(keyString(key), msg);
        return;
      case 'duplicate':
        this.log.debug(
          { job: key.job, attempt: key.attempt, agent: msg.agent },
          'duplicate result',
        );
        this.ack(msg.agent, key);
        return;
      case 'stale':
        this.log.warn(
          {
            job: key.job,
            attempt: key.attempt,
            epoch: key.epoch,
            agent: msg.agent,
            why: verdict.why,
          },
          'stale result ignored',
        );
        this.ack(msg.agent, key);
        return;
      case 'accept':
        this.unassign(keyString(key));
        this.accept(verdict.events, () => this.ack(msg.agent, key));
    }
  }

  /** Journal an accepted result and its decision; `then` runs once they are durable. */
  private accept(events: NewEvent[], then?: () => void): void {
    let last: Promise<JournalEvent> | undefined;
    for (const e of events) {
      last = this.append(e);
      if (e.type === 'job_retry') {
        this.log.info(
          { job: e.job, next: e.nextAttempt, delayMs: e.delayMs, kind: e.failure.kind },
          'job will be retried',
        );
        const job = e.job;
        this.later(e.delayMs, () => {
          this.state.wake(job);
          this.pump();
        });
      } else if (e.type === 'job_failed') {
        this.log.warn({ job: e.job, attempts: e.attempts, kind: e.failure.kind }, 'job failed');
      }
    }
    if (then && last) last.then(then, () => undefined);
    this.pump();
    this.checkEnd();
  }

  private ack(agentId: string, key: AttemptKey): void {
    const msg: ResultAck = { key };
    try {
      this.o.transport.publish(subjects.ack(agentId), msg);
    } catch (e) {
      this.log.warn({ agent: agentId, err: toAloftError(e).message }, 'ack not sent');
    }
  }

  // ------------------------------------------------------------------ register jobs

  private noteProduced(e: JournalEvent | NewEvent): void {
    if (e.type !== 'attempt_finished' || !e.ok) return;
    for (const f of e.record.files ?? []) {
      if (f.link !== 'output') continue;
      this.produced.set(f.lfn, { size: f.size, ...(f.sha256 ? { sha256: f.sha256 } : {}) });
    }
    for (const t of e.record.transfers ?? []) {
      const prev = this.produced.get(t.lfn);
      this.produced.set(t.lfn, {
        size: prev?.size ?? t.bytes,
        ...(t.sha256 || prev?.sha256 ? { sha256: t.sha256 ?? prev?.sha256 } : {}),
      });
    }
  }

  /** Register jobs run in the engine: append the job's registrations to the catalog. */
  private runRegister(d: Dispatch): void {
    const host = this.o.hostname ?? os.hostname();
    const ev = this.state.accepted(d.key, { agent: ENGINE_AGENT, site: d.job.site, host });
    if (!ev) return;
    this.append(ev);
    const start = new Date();
    const entries: OutputReplica[] = (d.job.registrations ?? []).map((r) => {
      const p = this.produced.get(r.lfn);
      return {
        lfn: r.lfn,
        pfn: r.pfn,
        site: r.site,
        ...(p?.sha256 ? { sha256: p.sha256 } : {}),
        ...(p?.size !== undefined ? { size: p.size } : {}),
      };
    });
    const record = (ok: boolean): InvocationRecord => ({
      ...emptyInvocationRecord({
        job: d.job.id,
        attempt: d.key.attempt,
        agent: ENGINE_AGENT,
        site: d.job.site,
        host,
        user: os.userInfo().username,
        executor: 'register',
        argv: [],
        cwd: '',
        start: start.toISOString(),
      }),
      durationMs: Date.now() - start.getTime(),
      exitCode: ok ? 0 : null,
      files: entries.map((e) => ({
        lfn: e.lfn,
        link: 'output' as const,
        size: e.size ?? 0,
        ...(e.sha256 ? { sha256: e.sha256 } : {}),
      })),
    });
    const catalog = this.o.outputReplicas;
    const work = catalog
      ? this.o.journal.flush().then(() => catalog.add(entries))
      : Promise.reject(
          new AloftError('FAILED_PRECONDITION', 'no output replica catalog to register into'),
        );
    work.then(
      () => this.guard(() => this.finishLocal(d.key, { ok: true, record: record(true) })),
      (e: unknown) =>
        this.guard(() =>
          this.finishLocal(d.key, {
            ok: false,
            record: record(false),
            failure: {
              kind: 'infrastructure',
              message: `could not write the output replica catalog: ${toAloftError(e).message}`,
              ...(toAloftError(e).code ? { code: toAloftError(e).code } : {}),
            },
          }),
        ),
    );
  }

  private finishLocal(key: AttemptKey, outcome: AttemptOutcome): void {
    if (this.ended) return;
    const verdict = this.state.decideResult(key, outcome);
    if (verdict.kind === 'accept') this.accept(verdict.events);
  }
}

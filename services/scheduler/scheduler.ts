/**
 * The scheduler service (DESIGN §6): many workflows at once, each an engine on its own run
 * directory under `<dataDir>/runs/<id>`, placing jobs through one agent registry and the
 * broker over one transport (NATS in production).
 *
 * It owns:
 * - routing: results go to the engine whose attempt they name. Every engine draws epochs
 *   from one counter (started above every epoch in every journal and every epoch a former
 *   process may have handed out, see EPOCH_FILE), so an epoch names one attempt of one
 *   workflow, across restarts too; a result with an unknown epoch is acked and dropped;
 * - leases: an agent not heard from for longer than its site's lease is lost; its running
 *   attempts are journaled as lost (failure kind `infrastructure`, no retry spent up to the
 *   engine's cap) and rescheduled, unless the mass-loss guard holds rescheduling (alert
 *   logged; released when the condition clears or by `releaseHold()`);
 * - orphans: a heartbeat naming an attempt that is not current on that agent gets a KillMsg;
 * - vanished attempts: one that a live agent's heartbeats stop naming for longer than its
 *   lease (the agent restarted within its lease) is lost the same way; a late result of a
 *   lost attempt is acked, dropped and logged;
 * - restart: `start()` resumes every run directory that has not ended; attempts journaled as
 *   running are re-adopted when their agent reports them (heartbeat or result) within one
 *   lease, otherwise declared lost.
 * `stop()` lets go without journaling an end (as a crash would), so the next `start()`
 * continues every workflow.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { AloftError, toAloftError } from '../../lib/errors/index.js';
import { faultPoint } from '../../lib/faults/index.js';
import { silentLogger, type Logger } from '../../lib/logging/index.js';
import type { Subscription, Transport } from '../../lib/transport/index.js';
import {
  subjects,
  type AdvertiseRequestMsg,
  type AgentAd,
  type AttemptKey,
  type AttemptResultMsg,
  type AttemptStartedMsg,
  type KillMsg,
  type OfferReply,
  type Plan,
  type PlanOptions,
  type ResultAck,
} from '../../proto/index.js';
import {
  explainIdle,
  massLoss,
  match,
  type IdleExplanation,
  type IdleReason,
  type MassLossOptions,
  type QuarantineOptions,
} from '../broker/index.js';
import { createEngine, type Counts, type Engine, type JobTransfer } from '../engine/index.js';
import { openJournal, type Journal, type RunEndState } from '../journal/index.js';
import type { LoadedWorkflow } from '../model/index.js';
import { plan as makePlan, planJsonChunks } from '../planner/index.js';
import {
  digestOf,
  dirUrl,
  initRunDir,
  isRunDir,
  listRuns,
  lockRunDir,
  numberedRunDir,
  OutputReplicaCatalog,
  RUN_INFO_FORMAT,
  runPaths,
  runState,
  storedPlanDigest,
  storeRootUrl,
  writeFileAtomic,
  type RunLock,
} from '../run/index.js';
import {
  AgentRegistry,
  type AgentInfo,
  type HeartbeatInfo,
  type Leases,
} from './agent-registry.js';

export interface SchedulerOptions {
  /** Holds `runs/<workflow id>/` (run directories). */
  dataDir: string;
  transport: Transport;
  leases?: Leases;
  logger?: Logger;
  quarantine?: QuarantineOptions;
  massLoss?: MassLossOptions;
  /** Engine settings for every workflow (see EngineOptions). */
  offerTimeoutMs?: number;
  retryDelayMs?: number;
  maxInfrastructureFailures?: number;
  killGraceMs?: number;
  /** How often leases are checked (default: a quarter of the shortest lease). */
  sweepMs?: number;
  /** Monotonic clock (default performance.now()). */
  now?: () => number;
}

export interface SubmitOptions {
  /** Where the workflow's outputs go (a local directory). */
  outputDir: string;
  /** Category throttles (Pegasus dagman `<category>.maxjobs`). */
  categoryLimits?: Record<string, number>;
}

export type WorkflowState = 'running' | 'halted' | RunEndState | 'removed';

export interface WorkflowStatus {
  id: string;
  name: string;
  runDir: string;
  state: WorkflowState;
  counts: Counts;
  retries: number;
  /** Running transfer jobs with their agents' latest progress. */
  transfers: JobTransfer[];
}

export interface IdleReport {
  job: string;
  reason: IdleReason;
  explanation: IdleExplanation;
}

export interface HoldStatus {
  held: boolean;
  message: string;
  /** Lost agents whose attempts wait for the hold to be released. */
  agents: string[];
}

export interface Scheduler {
  /** Resume every run directory that has not ended; returns their ids. */
  start(signal?: AbortSignal): Promise<string[]>;
  /** Let go of every workflow without journaling an end (they continue on the next start). */
  stop(): Promise<void>;
  submit(loaded: LoadedWorkflow, planOptions: PlanOptions, options: SubmitOptions): Promise<string>;
  status(id: string): WorkflowStatus;
  list(): WorkflowStatus[];
  /** Resolves when the workflow ends (or the scheduler lets go of it: 'interrupted'). */
  wait(id: string): Promise<RunEndState>;
  /** Finish running attempts, start nothing new. */
  halt(id: string): void;
  resume(id: string): void;
  /** Kill running attempts and end the workflow ('interrupted'). */
  remove(id: string): Promise<void>;
  listAgents(): AgentInfo[];
  /** Give the agent no new work (its running attempts finish); `on = false` undoes it.
   *  False for an agent never heard from. */
  drainAgent(agent: string, on?: boolean): boolean;
  /** Why ready jobs of the workflow are not placed. */
  analyzeIdle(id: string): IdleReport[];
  hold(): HoldStatus;
  /** Operator: reschedule the attempts of lost agents held back by the mass-loss guard. */
  releaseHold(): void;
}

/** The scheduler's own record beside a run: what a restart needs besides plan.json. */
const SCHEDULER_FILE = 'scheduler.json';

interface SchedulerRecord {
  workflow: string;
  outputDir: string;
  categoryLimits: Record<string, number>;
}

interface Workflow {
  id: string;
  name: string;
  runDir: string;
  engine: Engine;
  journal: Journal;
  lock: RunLock;
  done: Promise<RunEndState>;
  end?: RunEndState;
  removed: boolean;
}

function keyOk(k: unknown): k is AttemptKey {
  const key = k as AttemptKey | undefined;
  return (
    typeof key?.job === 'string' && Number.isInteger(key.attempt) && Number.isInteger(key.epoch)
  );
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const log = (options.logger ?? silentLogger).child({ component: 'scheduler' });
  const transport = options.transport;
  const runsRoot = path.join(path.resolve(options.dataDir), 'runs');
  const registry = new AgentRegistry({
    ...(options.leases ? { leases: options.leases } : {}),
    ...(options.quarantine ? { quarantine: options.quarantine } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const workflows = new Map<string, Workflow>();
  /** Epoch -> workflow id: routes results and heartbeats. */
  const owner = new Map<number, string>();
  let epoch = 0;
  /** Epochs up to this one may have been handed out (durable in EPOCH_FILE). */
  let reservedEpoch = 0;
  let subs: Subscription[] = [];
  let sweeper: NodeJS.Timeout | undefined;
  let started = false;
  /** Mass-loss hold: latched until the condition clears or an operator releases it. */
  let held = false;
  let holdMessage = '';
  const heldAgents = new Set<string>();
  /** Accepted results whose ack the engine has not sent yet (fault point only). */
  const ingested = new Set<string>();
  const engineTransport = withFaultPoints(transport, ingested);

  const nextEpochFor = (id: string) => (): number => {
    epoch++;
    if (epoch > reservedEpoch) {
      reservedEpoch = epoch - 1 + EPOCH_BLOCK;
      writeEpochMark(options.dataDir, reservedEpoch);
    }
    owner.set(epoch, id);
    return epoch;
  };

  function get(id: string): Workflow {
    const w = workflows.get(id);
    if (!w) {
      throw new AloftError('NOT_FOUND', `no workflow '${id}' in this scheduler`, {
        problems: [{ where: `workflow ${id}`, message: 'not known', hint: 'list workflows' }],
      });
    }
    return w;
  }

  function send(subject: string, data: KillMsg | ResultAck | AdvertiseRequestMsg): void {
    try {
      transport.publish(subject, data);
    } catch (e) {
      log.warn({ subject, err: toAloftError(e).message }, 'send failed');
    }
  }

  function engineOf(key: AttemptKey): Workflow | undefined {
    const id = owner.get(key.epoch);
    const w = id !== undefined ? workflows.get(id) : undefined;
    return w && w.end === undefined ? w : undefined;
  }

  // ------------------------------------------------------------------ messages

  function onAd(ad: AgentAd): void {
    if (!ad || typeof ad.agent !== 'string' || typeof ad.slots !== 'number') return;
    const { returned } = registry.onAd(ad);
    if (returned) log.info({ agent: ad.agent }, 'lost agent is back');
    afterReturn(returned);
    pokeAll();
  }

  function onHeartbeat(hb: HeartbeatInfo): void {
    if (!hb || typeof hb.agent !== 'string' || !Array.isArray(hb.running)) return;
    const { returned } = registry.onHeartbeat(hb);
    if (returned) log.info({ agent: hb.agent }, 'lost agent is back');
    if (!registry.hasAd(hb.agent)) requestAd(hb.agent);
    for (const key of hb.running) {
      if (!keyOk(key)) continue;
      const w = engineOf(key);
      if (w && w.engine.isCurrent(key, hb.agent)) {
        w.engine.confirm(key);
        continue;
      }
      // Not its attempt any more (declared lost, or unknown to us): stop it.
      log.warn({ agent: hb.agent, job: key.job, epoch: key.epoch }, 'killing orphan attempt');
      send(subjects.kill(hb.agent), { key, reason: 'attempt no longer owned by this agent' });
    }
    afterReturn(returned);
    if (returned) pokeAll();
  }

  /** When we last asked each ad-less agent for its ad (monotonic ms): at most every 2 s. */
  const adRequested = new Map<string, number>();
  function requestAd(agent: string): void {
    const now = registry.now();
    if (now - (adRequested.get(agent) ?? -Infinity) < 2000) return;
    adRequested.set(agent, now);
    log.info({ agent }, 'heartbeat from an agent without an ad: asking for one');
    send(subjects.advertise(agent), { reason: 'the scheduler has no ad for this agent' });
  }

  function avoidAgent(engine: Engine, key: AttemptKey, agent: string): void {
    const job = engine.job(key.job);
    if (job) registry.avoid(job, agent);
  }

  function onResult(msg: AttemptResultMsg): void {
    if (!msg || typeof msg.agent !== 'string' || !keyOk(msg.key) || !msg.outcome) return;
    const w = engineOf(msg.key);
    if (!w) {
      log.warn(
        { agent: msg.agent, job: msg.key.job, epoch: msg.key.epoch },
        'result for no workflow',
      );
      send(subjects.ack(msg.agent), { key: msg.key });
      return;
    }
    faultPoint('scheduler.result.received');
    // A failure counts against its agent BEFORE the engine takes the result: accepting it
    // frees the agent's slot and the engine places work at once — on this very agent, unless
    // the failure that trips its quarantine is already counted.
    const counted = !msg.outcome.ok && w.engine.isCurrent(msg.key, msg.agent);
    if (counted && !msg.outcome.ok) {
      registry.recordFailure(msg.agent, msg.outcome.failure.kind);
      // Retried elsewhere when it was the agent's fault (disk full, ...), not the job's.
      if (msg.outcome.failure.kind === 'infrastructure') avoidAgent(w.engine, msg.key, msg.agent);
    }
    const verdict = w.engine.deliverResult(msg);
    // Not a second completion: the engine acked and dropped it (journaled once, as lost).
    if (verdict !== 'accept' && verdict !== 'early' && lostAttempts.delete(attemptId(msg.key))) {
      const { job, attempt, epoch: ep } = msg.key;
      log.warn(
        { agent: msg.agent, job, attempt, epoch: ep },
        'late result of a lost attempt ignored',
      );
    }
    if (verdict === 'accept') ingested.add(ackId(subjects.ack(msg.agent), msg.key));
    if (verdict === 'accept' && !msg.outcome.ok && !counted) {
      registry.recordFailure(msg.agent, msg.outcome.failure.kind);
    }
  }

  /** A transfer job's progress (AttemptStartedMsg with `progress`): its engine journals it. */
  function onStarted(msg: AttemptStartedMsg): void {
    if (!msg?.progress || typeof msg.agent !== 'string' || !keyOk(msg.key)) return;
    engineOf(msg.key)?.engine.deliverStarted(msg);
  }

  function pokeAll(): void {
    for (const w of workflows.values()) if (w.end === undefined) w.engine.poke();
  }

  // ------------------------------------------------------------------ leases

  // ------------------------------------------------------------------ attempt reports

  const attemptId = (k: AttemptKey): string => `${k.job}\u0000${k.attempt}\u0000${k.epoch}`;

  /**
   * Every attempt has a lease of its own, renewed by its agent's heartbeats naming it: an
   * attempt the scheduler believes runs on a LIVE agent but that the agent's heartbeats have
   * not named for longer than the agent's lease is lost too — the agent restarted within
   * its lease (the new process runs nothing of the old one's), or the attempt ended without
   * a result. A finished attempt's result is retransmitted from the agent's outbox every few
   * seconds, well within a lease, so it is heard of before then.
   * Per agent: epoch -> when its heartbeats last named the attempt, or when the scheduler
   * first found it unnamed. Only agents with reservations their heartbeat does not cover
   * are examined (the usual case costs nothing).
   */
  const named = new Map<string, Map<number, number>>();

  function sweepUnnamed(): void {
    const now = registry.now();
    const examined = new Set<string>();
    for (const rep of registry.reports()) {
      if (rep.running.length >= rep.slotsInUse) continue;
      examined.add(rep.agent);
      const keys = new Set(rep.running.map(attemptId));
      const before = named.get(rep.agent);
      const after = new Map<number, number>();
      for (const w of workflows.values()) {
        if (w.end !== undefined) continue;
        for (const r of w.engine.runningOn(rep.agent)) {
          const since = keys.has(attemptId(r.key)) ? rep.at : (before?.get(r.key.epoch) ?? now);
          if (now - since <= rep.leaseMs) {
            after.set(r.key.epoch, since);
            continue;
          }
          const ok = w.engine.loseAttempt(
            r.key,
            `agent ${rep.agent} is alive but has not reported attempt ${r.key.attempt} of job ${r.key.job} for longer than its ${rep.leaseMs} ms lease (it restarted, or the attempt ended without a result); the attempt is rescheduled`,
          );
          if (ok) {
            registry.recordFailure(rep.agent, 'infrastructure');
            avoidAgent(w.engine, r.key, rep.agent);
            noteLost(r.key);
          }
        }
      }
      named.set(rep.agent, after);
    }
    for (const a of named.keys()) if (!examined.has(a)) named.delete(a);
  }

  /** Attempts declared lost whose late result has not come (bounded): it is logged when it does. */
  const lostAttempts = new Set<string>();
  function noteLost(key: AttemptKey): void {
    lostAttempts.add(attemptId(key));
    if (lostAttempts.size > 10_000) lostAttempts.delete(lostAttempts.values().next().value!);
  }

  /** Agents found lost, by when, whose attempts wait out the settle time (see sweep). */
  const settling = new Map<string, number>();

  /**
   * Leases: agents past theirs are lost. Their attempts are rescheduled only after
   * `settleMs`, and only if the mass-loss guard does not hold by then: agents that vanish
   * together (a partition, a NATS outage) reach the end of their leases in different
   * sweeps, and without the wait the first of them would be rescheduled before the guard
   * could see the others. An agent heard from again within the wait keeps its attempts.
   */
  function sweep(): void {
    const lost = registry.sweep();
    sweepUnnamed();
    const now = registry.now();
    for (const a of lost) settling.set(a, now);
    if (settling.size === 0) return;
    const verdict = massLoss(registry.states(), now, options.massLoss ?? {});
    if (verdict.hold || held) {
      const agents = [...settling.keys()].filter((a) => registry.isLost(a));
      settling.clear();
      if (!held) {
        held = true;
        holdMessage = verdict.message;
        log.error({ alert: 'mass-loss', agents }, verdict.message);
      }
      for (const a of agents) heldAgents.add(a);
      return;
    }
    const settleMs =
      options.massLoss?.settleMs ?? Math.min(5000, Math.floor(registry.shortestLease() / 3));
    for (const [a, at] of settling) {
      if (!registry.isLost(a)) {
        settling.delete(a);
      } else if (now - at >= settleMs) {
        settling.delete(a);
        loseAgent(a);
      }
    }
  }

  function loseAgent(agent: string): void {
    const lease = registry.list().find((i) => i.agent === agent)?.leaseMs;
    for (const w of workflows.values()) {
      if (w.end !== undefined) continue;
      for (const r of w.engine.runningOn(agent)) {
        const ok = w.engine.loseAttempt(
          r.key,
          `agent ${agent} lost: no heartbeat within its ${lease ?? '?'} ms lease; the attempt is rescheduled`,
        );
        if (ok) {
          registry.recordFailure(agent, 'infrastructure');
          avoidAgent(w.engine, r.key, agent);
          noteLost(r.key);
        }
      }
    }
  }

  /** An agent came back: the hold ends when the mass-loss condition no longer holds. */
  function afterReturn(returned: boolean): void {
    if (!returned || !held) return;
    const verdict = massLoss(registry.states(), registry.now(), options.massLoss ?? {});
    if (!verdict.hold) release('agents returned');
  }

  function release(why: string): void {
    if (!held) return;
    held = false;
    holdMessage = '';
    const agents = [...heldAgents];
    heldAgents.clear();
    log.warn({ why, agents }, 'mass-loss hold released');
    for (const a of agents) if (registry.isLost(a)) loseAgent(a);
    pokeAll();
  }

  // ------------------------------------------------------------------ workflows

  async function open(
    id: string,
    runDir: string,
    plan: Plan,
    digest: string,
    rec: SchedulerRecord,
    lock: RunLock,
    resumed: boolean,
  ): Promise<Workflow> {
    let journal: Journal;
    try {
      journal = await openJournal(runDir, { logger: log });
    } catch (e) {
      await lock.release();
      throw e;
    }
    for (const e of journal.replayed) {
      if (e.type === 'attempt_started' || e.type === 'attempt_finished') {
        owner.set(e.epoch, id);
        epoch = Math.max(epoch, e.epoch);
      }
    }
    const limits = rec.categoryLimits;
    const engine = createEngine({
      plan,
      journal,
      transport: engineTransport,
      runId: id,
      planDigest: digest,
      outputReplicas: OutputReplicaCatalog.open(runPaths(runDir).outputReplicas),
      logger: log.child({ workflow: id }),
      placement: registry,
      listen: false,
      nextEpoch: nextEpochFor(id),
      ...(resumed ? { adoptGraceMs: registry.leaseOf(undefined) } : {}),
      ...(Object.keys(limits).length > 0 ? { categoryLimits: limits } : {}),
      ...(options.offerTimeoutMs !== undefined ? { offerTimeoutMs: options.offerTimeoutMs } : {}),
      ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
      ...(options.maxInfrastructureFailures !== undefined
        ? { maxInfrastructureFailures: options.maxInfrastructureFailures }
        : {}),
      ...(options.killGraceMs !== undefined ? { killGraceMs: options.killGraceMs } : {}),
    });
    const w = { id, name: rec.workflow, runDir, engine, journal, lock, removed: false } as Workflow;
    workflows.set(id, w);
    return w;
  }

  function run(w: Workflow): void {
    w.done = w.engine.run().then(
      async (state) => {
        w.end = state;
        await w.journal.close().catch(() => undefined);
        await w.lock.release().catch(() => undefined);
        log.info({ workflow: w.id, state }, 'workflow ended');
        pokeAll();
        return state;
      },
      async (e: unknown) => {
        w.end = 'failed';
        log.error({ workflow: w.id, err: toAloftError(e).toJSON() }, 'workflow engine fault');
        await w.journal.close().catch(() => undefined);
        await w.lock.release().catch(() => undefined);
        throw e;
      },
    );
    // A fault is reported by wait(); never an unhandled rejection.
    w.done.catch(() => undefined);
  }

  function listen(): void {
    subs = [
      transport.subscribe<AgentAd>(subjects.allAds, (m) => guard(() => onAd(m.data))),
      transport.subscribe<HeartbeatInfo>(subjects.allHeartbeats, (m) =>
        guard(() => onHeartbeat(m.data)),
      ),
      transport.subscribe<AttemptResultMsg>(subjects.allResults, (m) =>
        guard(() => onResult(m.data)),
      ),
      transport.subscribe<AttemptStartedMsg>(subjects.allStarted, (m) =>
        guard(() => onStarted(m.data)),
      ),
    ];
    const every = options.sweepMs ?? Math.max(50, Math.floor(registry.shortestLease() / 4));
    sweeper = setInterval(() => guard(sweep), every);
  }

  function guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      log.error({ err: toAloftError(e).toJSON() }, 'scheduler handler failed');
    }
  }

  function statusOf(w: Workflow): WorkflowStatus {
    const state: WorkflowState = w.removed
      ? 'removed'
      : (w.end ?? (w.engine.isHalted() ? 'halted' : 'running'));
    return {
      id: w.id,
      name: w.name,
      runDir: w.runDir,
      state,
      counts: w.engine.counts(),
      retries: w.engine.retries(),
      transfers: w.end === undefined ? w.engine.transfers() : [],
    };
  }

  return {
    async start(signal) {
      if (started) throw new AloftError('FAILED_PRECONDITION', 'scheduler already started');
      started = true;
      mkdirSync(runsRoot, { recursive: true });
      const resumed: Workflow[] = [];
      for (const name of readdirSync(runsRoot).sort()) {
        signal?.throwIfAborted();
        const dir = path.join(runsRoot, name);
        if (!isRunDir(dir)) continue;
        const st = runState(dir);
        if (st !== 'running' && st !== 'new') continue;
        let rec: SchedulerRecord;
        let plan: Plan;
        try {
          rec = JSON.parse(readFileSync(path.join(dir, SCHEDULER_FILE), 'utf8')) as SchedulerRecord;
          plan = JSON.parse(readFileSync(runPaths(dir).plan, 'utf8')) as Plan;
        } catch (e) {
          log.warn({ runDir: dir, err: (e as Error).message }, 'not a scheduler run; skipped');
          continue;
        }
        const lock = await lockRunDir(dir);
        const digest = storedPlanDigest(dir) ?? '';
        resumed.push(await open(name, dir, plan, digest, rec, lock, true));
      }
      // Every journal is read before any engine runs: new epochs start above all of them,
      // and above every epoch the last process reserved (offers it never journaled).
      epoch = Math.max(epoch, readEpochMark(options.dataDir));
      reservedEpoch = epoch;
      listen();
      for (const w of resumed) run(w);
      return resumed.map((w) => w.id);
    },

    async stop() {
      for (const s of subs) s.unsubscribe();
      subs = [];
      if (sweeper) clearInterval(sweeper);
      sweeper = undefined;
      for (const w of workflows.values()) if (w.end === undefined) w.engine.detach();
      await Promise.all([...workflows.values()].map((w) => w.done?.catch(() => undefined)));
      workflows.clear();
      started = false;
    },

    async submit(loaded, planOptions, submitOptions) {
      if (!started) throw new AloftError('FAILED_PRECONDITION', 'scheduler not started');
      const name = loaded.workflow.name;
      const outputDir = path.resolve(submitOptions.outputDir);
      const n = (listRuns(runsRoot, name).at(-1)?.n ?? 0) + 1;
      const runDir = numberedRunDir(runsRoot, name, n);
      const id = path.basename(runDir).replace(/[^A-Za-z0-9_-]/g, '_');
      const plan = makePlan(loaded, {
        ...planOptions,
        storeRoot: storeRootUrl(runDir),
        outputUrl: dirUrl(outputDir),
      });
      const chunks = [...planJsonChunks(plan)];
      const digest = digestOf(chunks);
      mkdirSync(runDir, { recursive: true });
      mkdirSync(outputDir, { recursive: true });
      const lock = await lockRunDir(runDir);
      const rec: SchedulerRecord = {
        workflow: name,
        outputDir,
        categoryLimits: submitOptions.categoryLimits ?? {},
      };
      try {
        await initRunDir(runDir, chunks, {
          format: RUN_INFO_FORMAT,
          runId: id,
          workflow: { path: '', name },
          created: new Date().toISOString(),
          outputDir,
          options: plan.options,
          planDigest: digest,
        });
        await writeFileAtomic(path.join(runDir, SCHEDULER_FILE), JSON.stringify(rec, null, 2));
      } catch (e) {
        await lock.release();
        throw e;
      }
      const w = await open(id, runDir, plan, digest, rec, lock, false);
      run(w);
      log.info({ workflow: id, jobs: plan.jobs.length }, 'workflow submitted');
      return id;
    },

    status: (id) => statusOf(get(id)),
    list: () => [...workflows.values()].map(statusOf),
    wait: (id) => get(id).done,
    halt(id) {
      get(id).engine.halt();
    },
    resume(id) {
      get(id).engine.resumeDispatch();
    },
    async remove(id) {
      const w = get(id);
      if (w.end === undefined) {
        w.removed = true;
        w.engine.cancel();
      }
      await w.done.catch(() => undefined);
    },
    listAgents: () => registry.list(),
    drainAgent(agent, on = true) {
      const known = registry.drain(agent, on);
      // Undrained: it may take ready work now.
      if (known && !on) pokeAll();
      return known;
    },
    analyzeIdle(id) {
      const w = get(id);
      const agents = registry.views();
      const jobs = w.engine.readyJobs().filter((j) => j.kind !== 'register');
      const result = match({ jobs, agents });
      return result.idle.map((i) => ({
        job: i.job.id,
        reason: i.reason,
        explanation: explainIdle(i.job, agents),
      }));
    },
    hold: () => ({ held, message: holdMessage, agents: [...heldAgents] }),
    releaseHold() {
      release('operator released the hold');
    },
  };
}

/**
 * Epoch fencing across restarts. An offer carries its epoch to the agent before anything
 * about it is journaled (`attempt_started` is appended when the agent accepts), so after a
 * crash an agent may be running an attempt under an epoch no journal holds. Were a restarted
 * scheduler to hand that epoch out again, the same (job, attempt, epoch) could name a new
 * attempt — on another agent too — and the orphan's result (or its kill's `cancelled`)
 * would count for it. So epochs are reserved in blocks: the block's last epoch is written
 * to `<dataDir>/epoch` and fsync'd before any epoch of it is used, and a start continues
 * above the mark. The orphan's epoch then names nothing: its heartbeat gets it killed, its
 * result is acked and dropped, and the job runs under a higher epoch.
 */
const EPOCH_FILE = 'epoch';
const EPOCH_BLOCK = 10_000;

function readEpochMark(dataDir: string): number {
  let text: string;
  try {
    text = readFileSync(path.join(dataDir, EPOCH_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  const mark = Number(text.trim());
  if (!Number.isSafeInteger(mark) || mark < 0) {
    throw new AloftError(
      'DATA_LOSS',
      `${path.join(dataDir, EPOCH_FILE)} does not hold an epoch (${JSON.stringify(text.slice(0, 40))})`,
    );
  }
  return mark;
}

/** Synchronously durable (temp file, fsync, rename, fsync of the directory). */
function writeEpochMark(dataDir: string, mark: number): void {
  const file = path.join(dataDir, EPOCH_FILE);
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, `${mark}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(dataDir, 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

const ackId = (subject: string, key: AttemptKey | undefined): string =>
  `${subject} ${key?.job}.${key?.attempt}.${key?.epoch}`;

/**
 * The engines' transport with the dispatch and ingest fault points (lib/faults) at the
 * moments the engine acts: an accepted offer's reply is in, before the engine journals
 * the acceptance; an accepted result is durable (the engine acks only then), before the
 * ack leaves (a result held as early and accepted inside the engine is not counted).
 * Everything else passes through.
 */
function withFaultPoints(t: Transport, ingested: Set<string>): Transport {
  return {
    publish(subject, data, o) {
      const acking =
        ingested.size > 0 && ingested.delete(ackId(subject, (data as ResultAck | null)?.key));
      if (acking) faultPoint('scheduler.result.journaled');
      t.publish(subject, data, o);
    },
    subscribe: (subject, handler) => t.subscribe(subject, handler),
    async request<R>(...args: Parameters<Transport['request']>): Promise<R> {
      const reply = await t.request<R>(...args);
      if ((reply as OfferReply | undefined)?.accepted === true) {
        faultPoint('scheduler.dispatch.offered');
      }
      return reply;
    },
    close: () => t.close(),
  };
}

/**
 * The scheduler's agent registry: every agent heard from (ads and heartbeats), its state
 * (ready | draining | quarantined | lost), its lease, and the capacity the scheduler has
 * reserved on it. Time is the scheduler's MONOTONIC clock (`now()`, default
 * performance.now()), never the agents' wall clocks: an agent is lost when the time since
 * it was last heard from exceeds its site's lease.
 *
 * It is also the Placement the engines use: `assign` runs the broker's `match` over the
 * registry snapshot and reserves what it assigns; the engines release each reservation.
 * Agents that advertise `prefetch` N also take queued reservations: once no agent has a
 * free slot for a job, a second match places it in the queue of an agent with room (at
 * most N attempts, together at most the agent's whole capacity — a queued attempt must be
 * able to run there once it is alone). Queued reservations hold no slot or resources.
 * Releasing a running reservation promotes the oldest queued ones that now fit (a free
 * slot and free resources). The agent itself starts its queue in order by slots alone, so
 * with jobs of different sizes in one queue the two views may differ for a while (the
 * agent runs a job the registry still counts as queued); their totals (slots + prefetch)
 * always agree, so nothing is over-offered, and every result brings them back together.
 * It keeps the broker's CacheIndex (data locality) from the agents' ads: each ad's cache
 * summary replaces what was known of that agent's cache (by the URLs of its entries).
 * Pure bookkeeping: no I/O, no timers (the scheduler calls `sweep`).
 */
import type { AgentAd, AttemptKey, FailureKind, PlannedJob } from '../../proto/index.js';
import {
  CacheIndex,
  match,
  NO_USE,
  QuarantinePolicy,
  requirementsOf,
  type AgentFailureEvent,
  type AgentState,
  type AgentView,
  type Assignment,
  type MatchResult,
  type QuarantineOptions,
  type ResourceUse,
} from '../broker/index.js';
import type { Placement } from '../engine/index.js';

export interface Leases {
  /** Lease of an agent whose site has none of its own (default 15 000 ms). */
  defaultMs?: number;
  /** Lease per site (edge sites on flaky links get longer ones). */
  sites?: Record<string, number>;
}

/** What `listAgents` reports for one agent. */
export interface AgentInfo {
  agent: string;
  site: string;
  sites: string[];
  host: string;
  state: AgentState;
  slots: number;
  slotsInUse: number;
  cores: number;
  memoryMb: number;
  /** Free disk of its work dir (latest ad or heartbeat), MB. */
  diskFreeMb: number;
  executors: string[];
  labels: Record<string, string>;
  arch?: string;
  os?: string;
  gpus?: number;
  inUse: ResourceUse;
  /** Attempts it accepts beyond its slots (its ad's prefetch) and how many are queued there. */
  prefetch?: number;
  queued: number;
  /** Time since it was last heard from (heartbeat or ad), monotonic ms. */
  heartbeatAgeMs: number;
  leaseMs: number;
  /** Attempts its last heartbeat reported running. */
  running: AttemptKey[];
}

/** A heartbeat as the registry needs it (proto/codec Heartbeat). */
export interface HeartbeatInfo {
  agent: string;
  running: AttemptKey[];
  slotsInUse: number;
  diskFreeMb: number;
}

interface Entry {
  /** Undefined for an agent only heard by heartbeat so far (no ad: not matchable). */
  ad: AgentAd | undefined;
  state: AgentState;
  stateSince: number;
  lastSeen: number;
  slotsInUse: number;
  inUse: ResourceUse;
  /** Queued reservations (prefetch), oldest first, and what they will use together. */
  queued: PlannedJob[];
  queuedUse: ResourceUse;
  coolUntil: number;
  draining: boolean;
  running: AttemptKey[];
  /** When its last heartbeat arrived (undefined: none yet). */
  heartbeatAt: number | undefined;
}

/** A live agent's last heartbeat report (see AgentRegistry.reports). */
export interface AgentReport {
  agent: string;
  /** When the heartbeat arrived (monotonic ms). */
  at: number;
  leaseMs: number;
  /** Attempts (offered, queued or running) reserved on it now. */
  slotsInUse: number;
  running: readonly AttemptKey[];
}

export interface RegistryOptions {
  leases?: Leases;
  quarantine?: QuarantineOptions;
  now?: () => number;
}

export const DEFAULT_LEASE_MS = 15_000;

function useOf(job: PlannedJob): ResourceUse {
  try {
    const r = requirementsOf(job);
    return { cores: r.cores, memoryMb: r.memoryMb, diskMb: r.diskMb, gpus: r.gpus };
  } catch {
    return NO_USE;
  }
}

/** `a` plus `sign` times `b`, never below 0. */
function addUse(a: ResourceUse, b: ResourceUse, sign: 1 | -1): ResourceUse {
  return {
    cores: Math.max(0, a.cores + sign * b.cores),
    memoryMb: Math.max(0, a.memoryMb + sign * b.memoryMb),
    diskMb: Math.max(0, a.diskMb + sign * b.diskMb),
    gpus: Math.max(0, a.gpus + sign * b.gpus),
  };
}

/** Whether `u` fits what the agent has free now (its ad less its running reservations). */
function capacityFree(e: Entry, u: ResourceUse): boolean {
  const ad = e.ad;
  if (!ad) return false;
  return (
    e.inUse.cores + u.cores <= ad.cores &&
    e.inUse.memoryMb + u.memoryMb <= ad.memoryMb &&
    e.inUse.diskMb + u.diskMb <= ad.diskFreeMb &&
    e.inUse.gpus + u.gpus <= (ad.gpus ?? 0)
  );
}

export class AgentRegistry implements Placement {
  private readonly agents = new Map<string, Entry>();
  private readonly failures: AgentFailureEvent[] = [];
  private readonly policy: QuarantinePolicy;
  private readonly leases: Leases;
  /** Inputs in the agents' caches, by URL (from the ads' cache summaries). */
  readonly cache = new CacheIndex();
  /** Agents each job should not go back to (see avoid()). */
  private readonly avoided = new WeakMap<PlannedJob, Set<string>>();
  /** The cache index keys each agent's latest ad added (removed when its next ad comes). */
  private readonly cachedKeys = new Map<string, string[]>();
  readonly now: () => number;

  constructor(options: RegistryOptions = {}) {
    this.leases = options.leases ?? {};
    this.policy = new QuarantinePolicy(options.quarantine ?? {});
    this.now = options.now ?? (() => performance.now());
  }

  leaseOf(site: string | undefined): number {
    const bySite = site !== undefined ? this.leases.sites?.[site] : undefined;
    return bySite ?? this.leases.defaultMs ?? DEFAULT_LEASE_MS;
  }

  /** The shortest lease of any site (the sweep period is derived from it). */
  shortestLease(): number {
    return Math.min(this.leaseOf(undefined), ...Object.values(this.leases.sites ?? {}));
  }

  private entry(agent: string): Entry {
    let e = this.agents.get(agent);
    if (!e) {
      const now = this.now();
      e = {
        ad: undefined,
        state: 'ready',
        stateSince: now,
        lastSeen: now,
        slotsInUse: 0,
        inUse: { ...NO_USE },
        queued: [],
        queuedUse: { ...NO_USE },
        coolUntil: 0,
        draining: false,
        running: [],
        heartbeatAt: undefined,
      };
      this.agents.set(agent, e);
    }
    return e;
  }

  /** Heard from the agent: returns true when it was lost and is back. */
  private heard(e: Entry): boolean {
    const now = this.now();
    e.lastSeen = now;
    if (e.state !== 'lost') return false;
    this.settle(e, now);
    return true;
  }

  /** State of a live agent from drain, quarantine (by policy) and nothing else. */
  private settle(e: Entry, now: number): void {
    const id = e.ad?.agent;
    const q = id !== undefined && this.policy.isQuarantined(id, this.failures, now);
    const next: AgentState = e.draining ? 'draining' : q ? 'quarantined' : 'ready';
    if (next !== e.state) {
      e.state = next;
      e.stateSince = now;
    }
  }

  onAd(ad: AgentAd): { returned: boolean } {
    const e = this.entry(ad.agent);
    const { cache, ...rest } = ad;
    // The entry list lives in the cache index only; the stored ad keeps the totals.
    e.ad = {
      ...rest,
      sites: Array.isArray(ad.sites) ? ad.sites : [],
      ...(cache ? { cache: { ...cache, largest: [] } } : {}),
    };
    this.indexCache(ad.agent, cache);
    return { returned: this.heard(e) };
  }

  /** Replace what the cache index holds for `agent` with its ad's summary. */
  private indexCache(agent: string, summary: AgentAd['cache']): void {
    for (const k of this.cachedKeys.get(agent) ?? []) this.cache.remove(agent, k);
    const keys: string[] = [];
    for (const c of Array.isArray(summary?.largest) ? summary.largest : []) {
      for (const url of Array.isArray(c.urls) ? c.urls : []) {
        this.cache.add(agent, url, c.bytes);
        keys.push(url);
      }
    }
    if (keys.length > 0) this.cachedKeys.set(agent, keys);
    else this.cachedKeys.delete(agent);
  }

  onHeartbeat(hb: HeartbeatInfo): { returned: boolean } {
    const e = this.entry(hb.agent);
    e.running = hb.running.map((k) => ({ ...k }));
    e.heartbeatAt = this.now();
    if (e.ad && Number.isFinite(hb.diskFreeMb)) e.ad = { ...e.ad, diskFreeMb: hb.diskFreeMb };
    return { returned: this.heard(e) };
  }

  /**
   * What each live agent that holds reservations (so may run attempts) reported running in
   * its last heartbeat, and when; agents never heard by heartbeat are left out.
   */
  reports(): AgentReport[] {
    const out: AgentReport[] = [];
    for (const [agent, e] of this.agents) {
      const held = e.slotsInUse + e.queued.length;
      if (e.state === 'lost' || held === 0 || e.heartbeatAt === undefined) continue;
      out.push({
        agent,
        at: e.heartbeatAt,
        leaseMs: this.leaseOf(e.ad?.site),
        slotsInUse: held,
        running: e.running,
      });
    }
    return out;
  }

  /** Agents whose lease ran out since the last sweep (now `lost`); quarantines that ended. */
  sweep(): string[] {
    const now = this.now();
    const lost: string[] = [];
    for (const [id, e] of this.agents) {
      if (e.state === 'lost') continue;
      if (now - e.lastSeen > this.leaseOf(e.ad?.site)) {
        e.state = 'lost';
        e.stateSince = now;
        lost.push(id);
        continue;
      }
      this.settle(e, now);
    }
    return lost;
  }

  /** Whether an ad was heard from this agent (only then is it placeable). */
  hasAd(agent: string): boolean {
    return this.agents.get(agent)?.ad !== undefined;
  }

  isLost(agent: string): boolean {
    return this.agents.get(agent)?.state === 'lost';
  }

  /** An attempt on the agent ended with this failure kind (quarantine counts them). */
  /**
   * The job's attempt on `agent` failed for infrastructure reasons (disk full, lost): its
   * next attempts go elsewhere when any other agent fits (match's `avoid`). Kept per planned
   * job object, so it goes with the workflow.
   */
  avoid(job: PlannedJob, agent: string): void {
    let set = this.avoided.get(job);
    if (!set) this.avoided.set(job, (set = new Set()));
    set.add(agent);
  }

  recordFailure(agent: string, kind: FailureKind): void {
    const now = this.now();
    this.failures.push({ agent, at: now, kind });
    // Keep what can still matter: the window and the quarantine period.
    const horizon = now - this.policy.windowMs - this.policy.periodMs;
    while (this.failures.length > 0 && this.failures[0]!.at < horizon) this.failures.shift();
    const e = this.agents.get(agent);
    if (e && e.state !== 'lost') this.settle(e, now);
  }

  /** Stop giving the agent work (its running attempts finish). */
  drain(agent: string, on = true): boolean {
    const e = this.agents.get(agent);
    if (!e) return false;
    e.draining = on;
    if (e.state !== 'lost') this.settle(e, this.now());
    return true;
  }

  /** The broker's view of every agent with an ad. */
  views(): AgentView[] {
    const now = this.now();
    const out: AgentView[] = [];
    for (const e of this.agents.values()) {
      if (!e.ad) continue;
      out.push({
        ad: e.ad,
        state: e.state,
        slotsInUse: e.slotsInUse,
        inUse: { ...e.inUse },
        heartbeatAgeMs: now - e.lastSeen,
        stateSince: e.stateSince,
      });
    }
    return out;
  }

  list(): AgentInfo[] {
    const now = this.now();
    return [...this.agents.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, e]) => ({
        agent: id,
        site: e.ad?.site ?? '',
        sites: e.ad?.sites ?? [],
        host: e.ad?.host ?? '',
        state: e.state,
        slots: e.ad?.slots ?? 0,
        slotsInUse: e.slotsInUse,
        cores: e.ad?.cores ?? 0,
        memoryMb: e.ad?.memoryMb ?? 0,
        diskFreeMb: e.ad?.diskFreeMb ?? 0,
        executors: [...(e.ad?.executors ?? [])],
        labels: { ...e.ad?.labels },
        ...(e.ad?.arch !== undefined ? { arch: e.ad.arch } : {}),
        ...(e.ad?.os !== undefined ? { os: e.ad.os } : {}),
        ...(e.ad?.gpus !== undefined ? { gpus: e.ad.gpus } : {}),
        inUse: { ...e.inUse },
        ...(e.ad?.prefetch !== undefined ? { prefetch: e.ad.prefetch } : {}),
        queued: e.queued.length,
        heartbeatAgeMs: now - e.lastSeen,
        leaseMs: this.leaseOf(e.ad?.site),
        running: e.running.map((k) => ({ ...k })),
      }));
  }

  /** Agents' states for the mass-loss guard. */
  states(): { state: AgentState; stateSince: number }[] {
    return [...this.agents.values()].map((e) => ({ state: e.state, stateSince: e.stateSince }));
  }

  // ------------------------------------------------------------------ Placement

  assign(
    jobs: readonly PlannedJob[],
    throttles: { limits: Readonly<Record<string, number>>; running: Record<string, number> },
  ): { job: PlannedJob; agent: string }[] {
    const now = this.now();
    // Cooling agents (an offer just failed there) sit this pass out.
    const agents = this.views().filter((v) => (this.agents.get(v.ad.agent)?.coolUntil ?? 0) <= now);
    if (agents.length === 0 || jobs.length === 0) return [];
    let avoid: Map<string, ReadonlySet<string>> | undefined;
    for (const j of jobs) {
      const set = this.avoided.get(j);
      if (set) (avoid ??= new Map()).set(j.id, set);
    }
    const result = match({
      jobs,
      agents,
      throttles,
      cache: this.cache,
      untilFull: true,
      ...(avoid ? { avoid } : {}),
    });
    for (const a of result.assignments) this.reserve(a.agent, a.job);
    const queued = this.assignQueues(agents, result, throttles, avoid);
    return queued.length === 0 ? result.assignments : [...result.assignments, ...queued];
  }

  /**
   * The prefetch pass: jobs left waiting only for a free slot, matched against the room in
   * the agents' queues (each queue seen as an agent with `prefetch` slots and its whole
   * capacity less what is queued there), in dispatch order, under the same throttles.
   */
  private assignQueues(
    agents: readonly AgentView[],
    first: MatchResult,
    throttles: { limits: Readonly<Record<string, number>>; running: Record<string, number> },
    avoid: Map<string, ReadonlySet<string>> | undefined,
  ): Assignment[] {
    const queues: AgentView[] = [];
    for (const v of agents) {
      const e = this.agents.get(v.ad.agent);
      const room = (v.ad.prefetch ?? 0) - (e?.queued.length ?? 0);
      if (!e || room <= 0 || v.state !== 'ready') continue;
      queues.push({
        ...v,
        ad: { ...v.ad, slots: v.ad.prefetch ?? 0 },
        slotsInUse: e.queued.length,
        inUse: { ...e.queuedUse },
      });
    }
    if (queues.length === 0) return [];
    const waiting = first.idle.filter((i) => i.reason.kind === 'busy').map((i) => i.job);
    if (first.unexamined) waiting.push(...first.unexamined);
    if (waiting.length === 0) return [];
    const running = { ...throttles.running };
    for (const a of first.assignments) {
      const cat = a.job.category;
      if (cat !== undefined) running[cat] = (running[cat] ?? 0) + 1;
    }
    const result = match({
      jobs: waiting,
      agents: queues,
      throttles: { limits: throttles.limits, running },
      cache: this.cache,
      untilFull: true,
      ...(avoid ? { avoid } : {}),
    });
    for (const a of result.assignments) this.enqueue(a.agent, a.job);
    return result.assignments;
  }

  private enqueue(agent: string, job: PlannedJob): void {
    const e = this.entry(agent);
    e.queued.push(job);
    e.queuedUse = addUse(e.queuedUse, useOf(job), 1);
  }

  reserve(agent: string, job: PlannedJob): void {
    const e = this.entry(agent);
    e.slotsInUse++;
    e.inUse = addUse(e.inUse, useOf(job), 1);
  }

  release(agent: string, job: PlannedJob): void {
    const e = this.agents.get(agent);
    if (!e) return;
    const q = e.queued.indexOf(job);
    if (q >= 0) {
      // Ended while queued (killed, rejected, lost): it never held a slot.
      e.queued.splice(q, 1);
      e.queuedUse = addUse(e.queuedUse, useOf(job), -1);
      return;
    }
    e.slotsInUse = Math.max(0, e.slotsInUse - 1);
    e.inUse = addUse(e.inUse, useOf(job), -1);
    // The agent starts its queue in order as slots free: so does the accounting.
    while (e.queued.length > 0 && e.ad && e.slotsInUse < e.ad.slots) {
      const next = e.queued[0]!;
      const u = useOf(next);
      if (!capacityFree(e, u)) break;
      e.queued.shift();
      e.queuedUse = addUse(e.queuedUse, u, -1);
      e.slotsInUse++;
      e.inUse = addUse(e.inUse, u, 1);
    }
  }

  cool(agent: string, ms: number): void {
    const e = this.agents.get(agent);
    if (e) e.coolUntil = this.now() + ms;
  }

  host(agent: string): string | undefined {
    return this.agents.get(agent)?.ad?.host;
  }
}

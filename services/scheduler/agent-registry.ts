/**
 * The scheduler's agent registry: every agent heard from (ads and heartbeats), its state
 * (ready | draining | quarantined | lost), its lease, and the capacity the scheduler has
 * reserved on it. Time is the scheduler's MONOTONIC clock (`now()`, default
 * performance.now()), never the agents' wall clocks: an agent is lost when the time since
 * it was last heard from exceeds its site's lease.
 *
 * It is also the Placement the engines use: `assign` runs the broker's `match` over the
 * registry snapshot and reserves what it assigns; the engines release each reservation.
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
  /** Attempts (offered or running) reserved on it now. */
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
      if (e.state === 'lost' || e.slotsInUse === 0 || e.heartbeatAt === undefined) continue;
      out.push({
        agent,
        at: e.heartbeatAt,
        leaseMs: this.leaseOf(e.ad?.site),
        slotsInUse: e.slotsInUse,
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
      ...(avoid ? { avoid } : {}),
    });
    for (const a of result.assignments) this.reserve(a.agent, a.job);
    return result.assignments;
  }

  reserve(agent: string, job: PlannedJob): void {
    const e = this.entry(agent);
    const u = useOf(job);
    e.slotsInUse++;
    e.inUse = {
      cores: e.inUse.cores + u.cores,
      memoryMb: e.inUse.memoryMb + u.memoryMb,
      diskMb: e.inUse.diskMb + u.diskMb,
      gpus: e.inUse.gpus + u.gpus,
    };
  }

  release(agent: string, job: PlannedJob): void {
    const e = this.agents.get(agent);
    if (!e) return;
    const u = useOf(job);
    e.slotsInUse = Math.max(0, e.slotsInUse - 1);
    e.inUse = {
      cores: Math.max(0, e.inUse.cores - u.cores),
      memoryMb: Math.max(0, e.inUse.memoryMb - u.memoryMb),
      diskMb: Math.max(0, e.inUse.diskMb - u.diskMb),
      gpus: Math.max(0, e.inUse.gpus - u.gpus),
    };
  }

  cool(agent: string, ms: number): void {
    const e = this.agents.get(agent);
    if (e) e.coolUntil = this.now() + ms;
  }

  host(agent: string): string | undefined {
    return this.agents.get(agent)?.ad?.host;
  }
}

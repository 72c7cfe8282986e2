/**
 * The broker's view of one agent (its latest ad plus what the scheduler knows about it),
 * the per-requirement predicates the matcher and the idle explainer share, and the index
 * of agents' cached inputs used for data-locality ranking.
 *
 * Capacity is the ad's (cores, memoryMb, diskFreeMb, gpus, slots); what the scheduler has
 * placed there and not yet seen finish is `inUse`/`slotsInUse`, so free = ad - in use. The
 * ad's diskFreeMb is taken as the disk available to aloft's attempts when the ad was sent.
 */
import type { AgentAd } from '../../proto/index.js';
import { normalizeArch, normalizeOs, type Requirements } from './requirements.js';
import { selectorMatches } from './selector.js';

/** ready: takes work; draining: finishing its attempts; quarantined: held out by policy;
 *  lost: missed heartbeats past its lease. Only `ready` agents get work. */
export type AgentState = 'ready' | 'draining' | 'quarantined' | 'lost';

export interface ResourceUse {
  cores: number;
  memoryMb: number;
  diskMb: number;
  gpus: number;
}

export interface AgentView {
  ad: AgentAd;
  state: AgentState;
  slotsInUse: number;
  inUse: ResourceUse;
  /** Time since its last heartbeat (scheduler's monotonic clock). */
  heartbeatAgeMs: number;
  /** Scheduler monotonic time (ms) when the agent entered `state` (for the mass-loss guard). */
  stateSince?: number;
  /**
   * Inputs it holds in its cache: url or lfn -> bytes. Ignored when the snapshot carries a
   * CacheIndex (the scheduler's incrementally kept index of all agents' caches).
   */
  cached?: ReadonlyMap<string, number>;
}

export const NO_USE: ResourceUse = { cores: 0, memoryMb: 0, diskMb: 0, gpus: 0 };

/** Every site the agent serves: its own and its ad's `sites`. */
export function sitesOf(ad: AgentAd): string[] {
  return ad.sites.includes(ad.site) ? [...ad.sites] : [ad.site, ...ad.sites];
}

export function servesSite(ad: AgentAd, site: string): boolean {
  return ad.site === site || ad.sites.includes(site);
}

export function hasExecutors(ad: AgentAd, executors: readonly string[]): boolean {
  for (const e of executors) if (!ad.executors.includes(e)) return false;
  return true;
}

export function archMatches(ad: AgentAd, arch: string | undefined): boolean {
  return arch === undefined || (ad.arch !== undefined && normalizeArch(ad.arch) === arch);
}

export function osMatches(ad: AgentAd, os: string | undefined): boolean {
  return os === undefined || (ad.os !== undefined && normalizeOs(ad.os) === os);
}

/** Site, executors, platform and labels: what does not change as work is placed. */
export function staticFit(ad: AgentAd, req: Requirements): boolean {
  return (
    servesSite(ad, req.site) &&
    hasExecutors(ad, req.executors) &&
    archMatches(ad, req.arch) &&
    osMatches(ad, req.os) &&
    selectorMatches(ad.labels, req.selector)
  );
}

/** Whether the agent could hold the job when idle (its whole capacity). */
export function capacityFits(ad: AgentAd, req: Requirements): boolean {
  return (
    ad.slots >= 1 &&
    ad.cores >= req.cores &&
    ad.memoryMb >= req.memoryMb &&
    ad.diskFreeMb >= req.diskMb &&
    (ad.gpus ?? 0) >= req.gpus
  );
}

/**
 * Which agents hold which inputs in their caches, by url or lfn. The scheduler keeps one
 * across passes (add/remove as agents report cache changes); `match` builds one from the
 * agents' `cached` maps when the snapshot has none.
 */
export class CacheIndex {
  private readonly holders = new Map<string, Map<string, number>>();

  add(agent: string, key: string, bytes: number): void {
    let m = this.holders.get(key);
    if (!m) {
      m = new Map();
      this.holders.set(key, m);
    }
    m.set(agent, bytes);
  }

  remove(agent: string, key: string): void {
    const m = this.holders.get(key);
    if (!m) return;
    m.delete(agent);
    if (m.size === 0) this.holders.delete(key);
  }

  /** Forget an agent entirely (it left, or its cache was wiped). */
  dropAgent(agent: string): void {
    for (const [key, m] of this.holders) {
      m.delete(agent);
      if (m.size === 0) this.holders.delete(key);
    }
  }

  get size(): number {
    return this.holders.size;
  }

  /**
   * Bytes of the job's inputs each agent already holds (agents holding none are absent).
   * An input counts once per agent, found by url or else by lfn; its declared size wins
   * over the cached size when known.
   */
  bytesByAgent(req: Requirements): Map<string, number> {
    const out = new Map<string, number>();
    if (this.holders.size === 0) return out;
    for (const input of req.inputs) {
      const byUrl = this.holders.get(input.url);
      const byLfn = input.lfn === input.url ? undefined : this.holders.get(input.lfn);
      if (!byUrl && !byLfn) continue;
      const credit = (agent: string, cachedBytes: number): void => {
        out.set(agent, (out.get(agent) ?? 0) + (input.size > 0 ? input.size : cachedBytes));
      };
      if (byUrl) for (const [agent, bytes] of byUrl) credit(agent, bytes);
      if (byLfn) for (const [agent, bytes] of byLfn) if (!byUrl?.has(agent)) credit(agent, bytes);
    }
    return out;
  }

  static fromAgents(agents: readonly AgentView[]): CacheIndex {
    const index = new CacheIndex();
    for (const a of agents) {
      if (!a.cached) continue;
      for (const [key, bytes] of a.cached) index.add(a.ad.agent, key, bytes);
    }
    return index;
  }
}

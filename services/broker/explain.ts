/**
 * Why a job is idle (DESIGN §7 `aloft analyze`): for each requirement of the job, how many
 * agents satisfy it, and one plain-language sentence naming the requirement that no agent
 * satisfies — "no agent serves site hpc-anvil (3 agents serve edge-radar-1)", "needs 64 GB
 * memory; the largest agent has 16 GB".
 *
 * Counts are per requirement, over every agent given (whatever its state), judged on the
 * agent's whole capacity (what it could run when idle). The summary narrows the agents
 * requirement by requirement in a fixed order (site, executors, arch, os, labels, cores,
 * memory, disk, gpus, ready) and names the first step that leaves none, so it points at
 * one fix even when each requirement alone is met by some agent.
 */
import { AloftError } from '../../lib/errors/index.js';
import type { PlannedJob } from '../../proto/index.js';
import {
  archMatches,
  capacityFits,
  osMatches,
  servesSite,
  sitesOf,
  type AgentView,
} from './agent-view.js';
import { normalizeArch, normalizeOs, requirementsOf, type Requirements } from './requirements.js';
import { clauseMatches, describeClause } from './selector.js';

export interface ClauseCount {
  /** The requirement in short form: `cores ≥ 4`, `site = hpc-anvil`, `zone In (a,b)`. */
  requirement: string;
  /** Agents that satisfy it. */
  matching: number;
}

export interface IdleExplanation {
  clauses: ClauseCount[];
  /** Agents that satisfy every requirement and are ready (they could run it when free). */
  matchingAll: number;
  /** One sentence naming what stops the job. */
  summary: string;
}

interface Clause {
  requirement: string;
  /** Words for the narrowing scope: "serving site x", "with the docker executor". */
  scope: string;
  test: (a: AgentView) => boolean;
  /** Why none of `pool` satisfies it; `within` says how the pool was narrowed ('' = all agents). */
  why: (pool: readonly AgentView[], within: string) => string;
}

/** 16384 -> "16 GB", 1536 -> "1.5 GB", 512 -> "512 MB". */
export function formatMb(mb: number): string {
  if (mb >= 1024) return `${Number((mb / 1024).toFixed(1))} GB`;
  return `${Number(mb.toFixed(1))} MB`;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** "3 agents serve a, 1 serves b" from counts, largest first, at most `max` entries. */
function tally(counts: Map<string, number>, verb: [string, string], max = 4): string {
  const entries = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const shown = entries
    .slice(0, max)
    .map(([k, n]) => `${plural(n, 'agent')} ${n === 1 ? verb[0] : verb[1]} ${k}`);
  if (entries.length > max) shown.push(`${entries.length - max} more`);
  return shown.join(', ');
}

function countBy(
  pool: readonly AgentView[],
  keys: (a: AgentView) => string[],
): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of pool) for (const k of keys(a)) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

function largest(pool: readonly AgentView[], f: (a: AgentView) => number): number {
  let best = 0;
  for (const a of pool) best = Math.max(best, f(a));
  return best;
}

/** "the largest agent" / "the largest agent serving site x". */
const whose = (superlative: string, within: string): string =>
  within === '' ? `the ${superlative} agent` : `the ${superlative} agent ${within}`;
const none = (within: string): string => (within === '' ? 'no agent' : `no agent ${within}`);

function clausesOf(req: Requirements): Clause[] {
  const clauses: Clause[] = [
    {
      requirement: `site = ${req.site}`,
      scope: `serving site ${req.site}`,
      test: (a) => servesSite(a.ad, req.site),
      why: (pool, within) => {
        const served = tally(
          countBy(pool, (a) => sitesOf(a.ad)),
          ['serves', 'serve'],
        );
        return `${none(within)} serves site ${req.site}${served ? ` (${served})` : ''}`;
      },
    },
  ];
  for (const e of req.executors) {
    clauses.push({
      requirement: `executor = ${e}`,
      scope: `with the ${e} executor`,
      test: (a) => a.ad.executors.includes(e),
      why: (pool, within) => {
        const offered = [...countBy(pool, (a) => a.ad.executors).keys()].sort();
        return `${none(within)} has the ${e} executor${
          offered.length > 0 ? ` (they offer ${offered.join(', ')})` : ''
        }`;
      },
    });
  }
  if (req.arch !== undefined) {
    const arch = req.arch;
    clauses.push({
      requirement: `arch = ${arch}`,
      scope: `running ${arch}`,
      test: (a) => archMatches(a.ad, arch),
      why: (pool, within) =>
        `needs arch ${arch}; ${none(within)} has it (${tally(
          countBy(pool, (a) => [a.ad.arch === undefined ? 'unknown' : normalizeArch(a.ad.arch)]),
          ['is', 'are'],
        )})`,
    });
  }
  if (req.os !== undefined) {
    const os = req.os;
    clauses.push({
      requirement: `os = ${os}`,
      scope: `running ${os}`,
      test: (a) => osMatches(a.ad, os),
      why: (pool, within) =>
        `needs os ${os}; ${none(within)} has it (${tally(
          countBy(pool, (a) => [a.ad.os === undefined ? 'unknown' : normalizeOs(a.ad.os)]),
          ['is', 'are'],
        )})`,
    });
  }
  for (const c of req.selector) {
    clauses.push({
      requirement: c.text,
      scope: `with ${describeClause(c)}`,
      test: (a) => clauseMatches(a.ad.labels, c),
      why: (pool, within) => {
        const values = countBy(pool, (a) => {
          const v = a.ad.labels[c.key];
          return v === undefined ? [] : [v];
        });
        const seen =
          values.size === 0
            ? `none has label ${c.key}`
            : `${c.key} values seen: ${[...values.keys()].sort().join(', ')}`;
        return `${none(within)} satisfies selector clause ${c.text} (${seen})`;
      },
    });
  }
  clauses.push({
    requirement: `cores ≥ ${req.cores}`,
    scope: `with ${plural(req.cores, 'core')}`,
    test: (a) => a.ad.cores >= req.cores,
    why: (pool, within) =>
      `needs ${plural(req.cores, 'core')}; ${whose('largest', within)} has ${largest(pool, (a) => a.ad.cores)}`,
  });
  if (req.memoryMb > 0) {
    clauses.push({
      requirement: `memory ≥ ${formatMb(req.memoryMb)}`,
      scope: `with ${formatMb(req.memoryMb)} memory`,
      test: (a) => a.ad.memoryMb >= req.memoryMb,
      why: (pool, within) =>
        `needs ${formatMb(req.memoryMb)} memory; ${whose('largest', within)} has ${formatMb(
          largest(pool, (a) => a.ad.memoryMb),
        )}`,
    });
  }
  if (req.diskMb > 0) {
    clauses.push({
      requirement: `disk ≥ ${formatMb(req.diskMb)}`,
      scope: `with ${formatMb(req.diskMb)} free disk`,
      test: (a) => a.ad.diskFreeMb >= req.diskMb,
      why: (pool, within) =>
        `needs ${formatMb(req.diskMb)} free disk; ${whose('roomiest', within)} has ${formatMb(
          largest(pool, (a) => a.ad.diskFreeMb),
        )} free`,
    });
  }
  if (req.gpus > 0) {
    clauses.push({
      requirement: `gpus ≥ ${req.gpus}`,
      scope: `with ${plural(req.gpus, 'GPU')}`,
      test: (a) => (a.ad.gpus ?? 0) >= req.gpus,
      why: (pool, within) =>
        `needs ${plural(req.gpus, 'GPU')}; ${whose('best-equipped', within)} has ${largest(
          pool,
          (a) => a.ad.gpus ?? 0,
        )}`,
    });
  }
  clauses.push({
    requirement: 'state = ready',
    scope: 'ready',
    test: (a) => a.state === 'ready' && a.ad.slots >= 1,
    why: (pool, within) => {
      const states = countBy(pool, (a) => [a.state === 'ready' ? 'without slots' : a.state]);
      const detail = [...states]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .map(([s, n]) => `${n} ${s}`)
        .join(', ');
      return `${none(within)} is ready to take work (${detail})`;
    },
  });
  return clauses;
}

/** Explain why a job (or its already computed requirements) cannot run on these agents. */
export function explainIdle(
  job: PlannedJob | Requirements,
  agents: readonly AgentView[],
): IdleExplanation {
  let req: Requirements;
  if ('kind' in job) {
    try {
      req = requirementsOf(job);
    } catch (e) {
      if (e instanceof AloftError) {
        return { clauses: [], matchingAll: 0, summary: `invalid requirements: ${e.message}` };
      }
      throw e;
    }
  } else req = job;
  const clauses = clausesOf(req);
  const counts = clauses.map((c) => ({
    requirement: c.requirement,
    matching: agents.reduce((n, a) => n + (c.test(a) ? 1 : 0), 0),
  }));
  if (agents.length === 0) {
    return { clauses: counts, matchingAll: 0, summary: 'no agent is connected' };
  }
  let pool: readonly AgentView[] = agents;
  const scopes: string[] = [];
  for (const c of clauses) {
    const next = pool.filter(c.test);
    if (next.length === 0) {
      return { clauses: counts, matchingAll: 0, summary: c.why(pool, scopes.join(' ')) };
    }
    // Only requirements that ruled agents out describe the pool.
    if (next.length < pool.length) scopes.push(c.scope);
    pool = next;
  }
  const free = pool.filter(
    (a) =>
      a.ad.slots - a.slotsInUse >= 1 &&
      capacityFits(
        {
          ...a.ad,
          cores: a.ad.cores - a.inUse.cores,
          memoryMb: a.ad.memoryMb - a.inUse.memoryMb,
          diskFreeMb: a.ad.diskFreeMb - a.inUse.diskMb,
          gpus: (a.ad.gpus ?? 0) - a.inUse.gpus,
        },
        req,
      ),
  ).length;
  const summary =
    free > 0
      ? `${plural(pool.length, 'agent')} can run it and ${free} ${free === 1 ? 'has' : 'have'} room now; it waits for the next match (or its category throttle)`
      : `${plural(pool.length, 'agent')} can run it but ${pool.length === 1 ? 'it is' : 'all are'} busy (no free slot or resources now)`;
  return { clauses: counts, matchingAll: pool.length, summary };
}

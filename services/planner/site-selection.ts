/**
 * Site selection per compute job (Pegasus' site selectors).
 *
 * Candidates: the sites where the job's transformation is listed in the catalog (installed
 * or stageable), intersected with `options.sites` when given; a stageable transformation
 * may also run on any `options.sites` site (its executable is staged there). A profile
 * `selector.execution.site` or `hints.execution.site` pins the job (job > workflow >
 * transformation); a pin the transformation cannot honour is a Problem. Otherwise the
 * `random` selector draws from a PRNG seeded with `options.seed` in job order, and
 * `round-robin` cycles through each candidate list. Sub-workflow jobs run on `local`, where
 * Pegasus runs them too.
 */
import { validateSiteName, type Job } from '../model/index.js';
import { jobWhere, type Graph } from './graph.js';
import type { PlanOptions } from './plan-types.js';
import type { ProblemList } from './problems.js';
import type { ReasonLog } from './reasons.js';
import { displayName, type TransformationIndex } from './transformations.js';

export const SUBWORKFLOW_SITE = 'local';

export interface Placement {
  siteNames: string[];
  siteIndex: Map<string, number>;
  /** Site index per job; -1 for pruned jobs. */
  jobSite: Int32Array;
}

interface Candidates {
  list: string[];
  installed: string[];
  stageable: string[];
  /** The transformation profiles' pin, if any (the lowest layer of pinOf). */
  pin: Pin | undefined;
}

/** mulberry32: tiny, fast, good enough to spread jobs; identical across platforms. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Pin {
  site: string;
  key: string;
}

/** The pin of one profile layer (`label`: job, workflow, transformation), if it has one. */
function layerPin(layer: Job['profiles'] | undefined, label: string): Pin | undefined {
  const sel = layer?.['selector']?.['execution.site'];
  if (sel !== undefined) return { site: sel, key: `selector.execution.site (${label} profile)` };
  const hint = layer?.['hints']?.['execution.site'];
  if (hint !== undefined) return { site: hint, key: `hints.execution.site (${label} profile)` };
  return undefined;
}

export function selectSites(
  g: Graph,
  workflowProfiles: Job['profiles'],
  transformationOf: Int32Array,
  tc: TransformationIndex,
  kept: Uint8Array,
  options: PlanOptions,
  source: string,
  problems: ProblemList,
  reasons: ReasonLog,
): Placement {
  const n = g.jobs.length;
  const siteNames: string[] = [];
  const siteIndex = new Map<string, number>();
  const jobSite = new Int32Array(n).fill(-1);
  const badSites = new Set<string>();
  const siteOf = (name: string, jobId: string): number => {
    let s = siteIndex.get(name);
    if (s === undefined) {
      const bad = validateSiteName(name);
      if (bad && !badSites.has(name)) {
        badSites.add(name);
        problems.add('bad site name', {
          where: jobWhere(source, jobId),
          message: `site name ${bad}`,
          hint: "site names become store paths: use letters, digits, '_', '.' and '-' only",
        });
      }
      s = siteNames.length;
      siteIndex.set(name, s);
      siteNames.push(name);
    }
    return s;
  };

  const allowed = options.sites;
  const candidateCache = new Map<number, Candidates>();
  const candidatesOf = (ti: number): Candidates => {
    const hit = candidateCache.get(ti);
    if (hit) return hit;
    const t = tc.get(ti);
    const installed: string[] = [];
    const stageable: string[] = [];
    for (const s of t.sites) {
      const into = s.type === 'stageable' ? stageable : installed;
      if (!into.includes(s.name)) into.push(s.name);
    }
    const listed = [...new Set([...installed, ...stageable])];
    let list: string[];
    if (allowed.length === 0) list = listed;
    else if (stageable.length > 0) list = [...allowed];
    else list = allowed.filter((s) => listed.includes(s));
    const c = { list, installed, stageable, pin: layerPin(t.profiles, 'transformation') };
    candidateCache.set(ti, c);
    return c;
  };
  // Pins: job > workflow > transformation; the last two are read once, not per job.
  const workflowPin = layerPin(workflowProfiles, 'workflow');

  const random = prng(options.seed);
  const roundRobin = new Map<string, number>();

  for (let j = 0; j < n; j++) {
    if (!kept[j]) continue;
    const job = g.jobs[j]!;
    const ti = transformationOf[j]!;
    const t = ti >= 0 ? tc.get(ti) : undefined;
    const jobPin = layerPin(job.profiles, 'job') ?? workflowPin;

    if (!t) {
      const pin = jobPin;
      const site = pin?.site ?? SUBWORKFLOW_SITE;
      jobSite[j] = siteOf(site, job.id);
      if (reasons.wants('site')) {
        reasons.add(
          job.id,
          'site',
          pin
            ? `placed on ${site}: pinned by ${pin.key}`
            : `placed on ${site}: ${job.type} jobs run on the submit site, as in Pegasus`,
        );
      } else reasons.count('site');
      continue;
    }

    const c = candidatesOf(ti);
    const pin = jobPin ?? c.pin;
    if (pin) {
      const possible = c.installed.includes(pin.site) || c.stageable.length > 0;
      if (!possible) {
        problems.add('impossible pin', {
          where: jobWhere(source, job.id),
          message: `job ${job.id} is pinned to site ${pin.site} by ${pin.key}, but transformation ${displayName(t)} is installed only on [${c.installed.join(', ')}] and is not stageable`,
          hint: `pin a site from [${c.installed.join(', ')}] or add ${displayName(t)} on ${pin.site} to the transformation catalog`,
        });
        continue;
      }
      jobSite[j] = siteOf(pin.site, job.id);
      if (reasons.wants('site')) {
        const outside =
          allowed.length > 0 && !allowed.includes(pin.site) ? ' (outside --sites)' : '';
        const how = c.installed.includes(pin.site)
          ? `transformation ${displayName(t)} installed there`
          : `executable of ${displayName(t)} staged from [${c.stageable.join(', ')}]`;
        reasons.add(
          job.id,
          'site',
          `placed on ${pin.site}${outside}: pinned by ${pin.key}; ${how}`,
        );
      } else reasons.count('site');
      continue;
    }

    if (c.list.length === 0) {
      const listed =
        c.stageable.length > 0
          ? `installed on sites [${c.installed.join(', ')}], stageable from [${c.stageable.join(', ')}]`
          : `installed on sites [${c.installed.join(', ')}]`;
      problems.add(`no site for ${displayName(t)}`, {
        where: jobWhere(source, job.id),
        message:
          c.installed.length + c.stageable.length === 0
            ? `no site can run job ${job.id}: transformation ${displayName(t)} lists no sites in the transformation catalog`
            : `no site can run job ${job.id}: transformation ${displayName(t)} is ${listed}, --sites allows [${allowed.join(', ')}]`,
        hint:
          c.installed.length + c.stageable.length === 0
            ? `add a site entry for ${displayName(t)} to the transformation catalog`
            : `add one of [${[...c.installed, ...c.stageable].join(', ')}] to --sites, or add ${displayName(t)} on one of [${allowed.join(', ')}] to the transformation catalog`,
      });
      continue;
    }

    let site: string;
    let how: string;
    if (c.list.length === 1) {
      site = c.list[0]!;
      how = '';
    } else if (options.siteSelector === 'round-robin') {
      const key = c.list.join('\u0000');
      const k = roundRobin.get(key) ?? 0;
      roundRobin.set(key, k + 1);
      site = c.list[k % c.list.length]!;
      how = ' (round-robin)';
    } else {
      site = c.list[Math.floor(random() * c.list.length)]!;
      how = ` (random, seed ${options.seed})`;
    }
    jobSite[j] = siteOf(site, job.id);
    if (reasons.wants('site')) {
      const why = c.installed.includes(site)
        ? `transformation ${displayName(t)} installed there`
        : `executable of ${displayName(t)} staged from [${c.stageable.join(', ')}]`;
      reasons.add(
        job.id,
        'site',
        `placed on ${site}${how}: ${why}; candidates [${c.list.join(', ')}]`,
      );
    } else reasons.count('site');
  }
  return { siteNames, siteIndex, jobSite };
}

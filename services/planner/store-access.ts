/**
 * StoreAccess in the plan: the S3 settings a site catalog gives (site-stores.ts) attached to
 * every job whose URLs fall in one of that site's s3:// stores, so whichever agent runs the
 * job — a transfer, a compute job reading inputs from the store, a cleanup — reaches the
 * store with them. Credentials are never part of it.
 *
 * Which URLs a site's settings cover: the s3:// file servers of its directories and, when it
 * is used, its store (from the catalog or from `storeRoot`) and, for the output site, the
 * output store. A URL is matched to the entry with the longest base URL it starts with.
 */
import { s3RouteOf, type S3Route } from '../../lib/store/index.js';
import type { LoadedWorkflow, SiteCatalog } from '../model/index.js';
import type { PlannedJob, StoreAccess } from './plan-types.js';
import { ProblemList } from './problems.js';
import type { ReasonLog } from './reasons.js';
import { asBaseUrl } from './replicas.js';
import { SiteStoreSettings } from './site-stores.js';
import type { StoreLocation } from './stores.js';

const S3 = /^s3:/i;

/**
 * The StoreAccess entries of the plan, sorted by URL. `used`: each site that stores files in
 * this plan with its store location (the output site with the output store).
 */
export function storeAccessList(
  catalog: SiteCatalog,
  settings: SiteStoreSettings,
  used: readonly { site: string; location: StoreLocation }[],
  sitesSource: string,
  problems: ProblemList,
  reasons: ReasonLog,
): StoreAccess[] {
  const byUrl = new Map<string, StoreAccess>();
  for (const site of settings.s3Sites()) {
    const s3 = settings.s3(site)!;
    const urls = new Set<string>();
    for (const d of catalog.sites.find((s) => s.name === site)?.directories ?? []) {
      for (const fs of d.fileServers) if (S3.test(fs.url)) urls.add(asBaseUrl(fs.url));
    }
    for (const u of used) {
      if (u.site !== site) continue;
      if (S3.test(u.location.put)) urls.add(u.location.put);
      if (S3.test(u.location.get)) urls.add(u.location.get);
    }
    if (urls.size === 0) {
      reasons.add(
        site,
        'stage',
        `the aloft.s3.* settings of site ${site} apply to no s3:// store: none of its directories has an s3:// file server and its store is not on S3`,
      );
      continue;
    }
    for (const url of urls) {
      const entry: StoreAccess = { url, site, ...s3 };
      const other = byUrl.get(url);
      if (!other) {
        byUrl.set(url, entry);
        continue;
      }
      if (
        other.endpoint !== entry.endpoint ||
        other.region !== entry.region ||
        other.pathStyle !== entry.pathStyle
      ) {
        problems.add('site s3 settings', {
          where: `${sitesSource}: site ${site}`,
          message: `its aloft.s3.* settings for ${url} differ from those of site ${other.site}, which uses the same store`,
          hint: 'give both sites the same aloft.s3.endpoint, s3.region and s3.path-style',
        });
      }
    }
  }
  const list = [...byUrl.values()].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  for (const a of list) {
    const parts = [
      a.endpoint !== undefined ? `endpoint ${a.endpoint}` : undefined,
      a.region !== undefined ? `region ${a.region}` : undefined,
      a.pathStyle !== undefined ? `path-style ${a.pathStyle}` : undefined,
    ].filter((p) => p !== undefined);
    reasons.add(
      a.site,
      'stage',
      `agents reach ${a.url} with ${parts.join(', ')} (aloft.s3.* profiles of site ${a.site}); credentials come from each agent's environment`,
    );
  }
  return list;
}

/**
 * Set `storeAccess` on every job (and cluster member) with a URL in one of `list`'s stores.
 * Jobs with the same stores share one array.
 */
export function attachStoreAccess(jobs: readonly PlannedJob[], list: readonly StoreAccess[]): void {
  if (list.length === 0) return;
  const shared = new Map<string, StoreAccess[]>();
  for (const job of jobs) {
    const hits = new Set<number>();
    collect(job, hits);
    if (job.members) {
      for (const m of job.members) {
        const mine = new Set<number>();
        collect(m, mine);
        if (mine.size > 0) m.storeAccess = sharedOf(mine);
        for (const i of mine) hits.add(i);
      }
    }
    if (hits.size > 0) job.storeAccess = sharedOf(hits);
  }

  function sharedOf(hits: Set<number>): StoreAccess[] {
    const idx = [...hits].sort((a, b) => a - b);
    const key = idx.join(',');
    let arr = shared.get(key);
    if (!arr) shared.set(key, (arr = idx.map((i) => list[i]!)));
    return arr;
  }

  function collect(job: PlannedJob, hits: Set<number>): void {
    const see = (url: string): void => {
      if (!S3.test(url)) return;
      let best = -1;
      for (let i = 0; i < list.length; i++) {
        const base = list[i]!.url;
        if (url.startsWith(base) && (best < 0 || base.length > list[best]!.url.length)) best = i;
      }
      if (best >= 0) hits.add(best);
    };
    for (const f of job.inputs ?? []) see(f.url);
    for (const f of job.outputs ?? []) see(f.url);
    for (const t of job.transfers ?? []) {
      for (const s of t.sources) see(s.url);
      see(t.dest.url);
    }
    for (const d of job.deletes ?? []) see(d.url);
    if (job.executable?.type === 'stageable') see(job.executable.pfn);
  }
}

/**
 * The S3 routes the site catalog gives, for looking at stores outside planning (the reuse
 * evidence of earlier outputs): each site with `aloft.s3.*` settings, for the s3:// file
 * servers of its directories and, for `outputSite`, the output store too. Problems in the
 * settings are left to the planner, which reports them.
 */
export function siteS3Routes(
  loaded: Pick<LoadedWorkflow, 'sites' | 'workflow' | 'sources'>,
  output?: { site: string; store: string },
): S3Route[] {
  const settings = new SiteStoreSettings(
    loaded.sites,
    loaded.workflow.profiles,
    loaded.sources,
    new ProblemList(),
  );
  const routes = new Map<string, S3Route>();
  for (const site of settings.s3Sites()) {
    const s3 = settings.s3(site)!;
    const urls = new Set<string>();
    for (const d of loaded.sites.sites.find((s) => s.name === site)?.directories ?? []) {
      for (const f of d.fileServers) if (S3.test(f.url)) urls.add(asBaseUrl(f.url));
    }
    if (output && output.site === site && S3.test(output.store)) urls.add(output.store);
    for (const url of urls) if (!routes.has(url)) routes.set(url, s3RouteOf(url, s3));
  }
  return [...routes.values()];
}

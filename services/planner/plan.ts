/**
 * plan(): the abstract workflow and its catalogs → the executable Plan (DESIGN §5).
 *
 * validate → data reuse → site selection → compute specs (profiles, resources, retries) →
 * levels and priorities (deeper first: priority = level + dagman/condor priority) →
 * clustering → stores (site catalog directories, file servers, S3 settings, maxspace) →
 * staging (stage-in, inter-site, stage-out, registration) → cleanup (inplace, leaf, or
 * constraint: under each store's maxspace) → store access settings on jobs → a
 * deterministic topological job order.
 *
 * Pure and deterministic: no I/O (the caller passes what exists already in
 * `options.available`), no clocks, no unseeded randomness; the same inputs give the same
 * plan, byte for byte, when serialised. Internally jobs and files are integer indices.
 */
import { AloftError } from '../../lib/errors/index.js';
import type { LoadedWorkflow } from '../model/index.js';
import { clusterJobs, type Cluster } from './clustering.js';
import { ComputeSpecs } from './compute-jobs.js';
import type { Graph } from './graph.js';
import { planCleanup } from './cleanup.js';
import { planConstraintCleanup } from './cleanup-constraint.js';
import { normaliseOptions } from './options.js';
import { NO_IDS, PlanBuilder } from './plan-builder.js';
import type { Plan, PlanOptions, PlannedJob } from './plan-types.js';
import { listSome, ProblemList } from './problems.js';
import { ReasonLog } from './reasons.js';
import { pruneForReuse } from './reuse.js';
import { selectSites } from './site-selection.js';
import { SiteStoreSettings, MAXSPACE_KEY, type MaxSpace } from './site-stores.js';
import { stage, StoreFiles, type StoreMap } from './staging.js';
import { attachStoreAccess, storeAccessList } from './store-access.js';
import { Stores, type StoreLocation } from './stores.js';
import { analyze } from './validate.js';

function throwIfAny(problems: ProblemList, name: string): void {
  if (problems.size === 0) return;
  const list = problems.list();
  throw AloftError.invalid(
    list,
    list.length === 1 ? undefined : `cannot plan workflow ${name}: ${problems.size} problems`,
  );
}

export function plan(loaded: LoadedWorkflow, options: PlanOptions): Plan {
  const opts = normaliseOptions(options);
  const wf = loaded.workflow;
  const source = loaded.sources.workflow;
  const a = analyze(loaded);
  throwIfAny(a.problems, wf.name);
  const g = a.graph;
  const n = g.jobs.length;
  const reasons = new ReasonLog();
  const problems = new ProblemList();

  // What the site catalog says about stores (S3 settings, maxspace): checked up front.
  const sitesSource = loaded.sources.sites ?? source;
  const storeSettings = new SiteStoreSettings(loaded.sites, wf.profiles, loaded.sources, problems);
  throwIfAny(problems, wf.name);

  // Data reuse.
  const stores = new Stores(loaded.sites, opts);
  const reuse = pruneForReuse(
    g,
    a.replicas,
    {
      available: opts.available ?? [],
      existing: opts.existing ?? [],
      outputStore: stores.output.get,
    },
    opts.reuse && !opts.force,
    reasons,
  );
  const { pruned, avail } = reuse;
  const kept = new Uint8Array(n);
  for (let j = 0; j < n; j++) kept[j] = pruned[j] ? 0 : 1;

  // Site selection.
  const placement = selectSites(
    g,
    wf.profiles,
    a.transformationOf,
    a.transformations,
    kept,
    opts,
    source,
    problems,
    reasons,
  );
  throwIfAny(problems, wf.name);
  const { siteNames, jobSite } = placement;

  // Compute specs.
  const specs = new ComputeSpecs(loaded, a.transformations, opts.defaultRetries, problems, n);
  const compute = specs.jobs;
  const traits = specs.traits;
  const bypassInputs = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    if (!kept[j]) continue;
    specs.add(j, g.jobs[j]!, a.transformationOf[j]!, siteNames[jobSite[j]!]!);
    if (traits[j]?.bypassInputs) bypassInputs[j] = 1;
  }
  throwIfAny(problems, wf.name);

  // Levels (longest path from a root among kept jobs) and priorities.
  const level = new Int32Array(n);
  for (let k = 0; k < g.order.length; k++) {
    const j = g.order[k]!;
    if (!kept[j]) continue;
    let l = 0;
    for (let i = g.parents.start[j]!; i < g.parents.start[j + 1]!; i++) {
      const p = g.parents.items[i]!;
      if (kept[p] && level[p]! + 1 > l) l = level[p]! + 1;
    }
    level[j] = l;
    const job = compute[j]!;
    const boost = traits[j]!.priorityBoost;
    job.priority = l + boost;
    if (boost !== 0) {
      if (reasons.wants('priority')) {
        reasons.add(
          job.id,
          'priority',
          `priority ${job.priority} = level ${l} + ${boost} from the dagman/condor priority profile`,
        );
      } else reasons.count('priority');
    }
  }

  // Clustering.
  const clustering = clusterJobs(
    g,
    opts.cluster,
    traits,
    a.transformationOf,
    jobSite,
    siteNames,
    level,
    source,
    problems,
    reasons,
  );
  throwIfAny(problems, wf.name);

  // One plan node per unit (a compute job, or the cluster holding it).
  // Edges: the abstract ones, one per staged/consumed input, and a few per helper job.
  const builder = new PlanBuilder(abstractIdTest(g), g.edges + 2 * g.inputs.items.length + 4 * n);
  const unitNode = new Int32Array(n).fill(-1);
  const units: number[] = [];
  const unitJob = new Int32Array(n).fill(-1);
  const clusterMembers = new Map<number, number[]>();
  const clusterNode = new Int32Array(clustering.clusters.length).fill(-1);
  const clusterCount = new Map<string, number>();
  for (let k = 0; k < g.order.length; k++) {
    const j = g.order[k]!;
    if (!kept[j]) continue;
    const c = clustering.clusterOf[j]!;
    if (c < 0) {
      const node = builder.add(compute[j]!);
      unitNode[j] = node;
      unitJob[units.length] = j;
      units.push(node);
      continue;
    }
    if (clusterNode[c] === -1) {
      const cluster = clustering.clusters[c]!;
      const base =
        cluster.style === 'label'
          ? `label_${cluster.label}_${siteNames[cluster.site]}`
          : `merge_${cluster.transformation}_${siteNames[cluster.site]}_${cluster.level}`;
      const seq = (clusterCount.get(base) ?? 0) + 1;
      clusterCount.set(base, seq);
      const job = clusterJob(
        builder.uniqueId(cluster.style === 'label' ? base : `${base}_${seq}`),
        cluster,
        compute,
        siteNames,
      );
      const node = builder.add(job);
      clusterNode[c] = node;
      units.push(node);
      clusterMembers.set(node, cluster.members);
      if (reasons.wants('cluster')) {
        reasons.add(
          job.id,
          'cluster',
          cluster.style === 'label'
            ? `${cluster.members.length} jobs labelled ${cluster.label} on ${job.site} run as one cluster: ${listSome(job.covers)}`
            : `${cluster.members.length} ${cluster.transformation} jobs at level ${cluster.level} on ${job.site} run as one cluster (${cluster.label}): ${listSome(job.covers)}`,
        );
      } else reasons.count('cluster');
    }
    unitNode[j] = clusterNode[c]!;
  }

  // Stores.
  const siteStore = new Int32Array(siteNames.length);
  const storeUrls: string[] = [];
  const storeGetUrls: string[] = [];
  const storeSite: number[] = [];
  const storeOfUrl = new Map<string, number>();
  const planStores: Record<string, string> = {};
  const used: { site: string; location: StoreLocation }[] = [];
  siteNames.forEach((site, s) => {
    const location = stores.location(site);
    const url = location.put;
    used.push({ site, location });
    planStores[site] = url;
    let st = storeOfUrl.get(url);
    if (st === undefined) {
      st = storeUrls.length;
      storeOfUrl.set(url, st);
      storeUrls.push(url);
      storeGetUrls.push(location.get);
      storeSite.push(s);
    } else {
      reasons.add(
        site,
        'stage',
        `${site} shares its store ${url} with ${siteNames[storeSite[st]!]}: files are not copied between them`,
      );
    }
    siteStore[s] = st;
  });
  used.push({ site: opts.outputSite, location: stores.output });
  for (const p of stores.problems) {
    problems.add('site storage', { ...p, where: `${sitesSource}: ${p.where}` });
  }
  throwIfAny(problems, wf.name);
  const maxSpace = storeMaxSpace(opts.cleanup, storeUrls, storeSite, siteNames, stores.outputStore);
  const storeMap: StoreMap = {
    siteNames,
    siteStore,
    storeUrls,
    storeGetUrls,
    storeSite,
    outputStore: stores.outputStore,
    outputGetStore: stores.output.get,
    outputSite: opts.outputSite,
    constrained: Uint8Array.from(maxSpace, (m) => (m ? 1 : 0)),
  };
  const access = storeAccessList(loaded.sites, storeSettings, used, sitesSource, problems, reasons);
  throwIfAny(problems, wf.name);

  // Staging and cleanup.
  const files = new StoreFiles(g.fileNames.length, g.outputs.items.length + g.inputs.items.length);
  stage({
    g,
    kept,
    avail,
    reuse,
    replicas: a.replicas,
    stores: storeMap,
    jobSite,
    level,
    compute,
    bypassInputs,
    unitNode,
    units,
    unitJob,
    clusterMembers,
    defaultRetries: opts.defaultRetries,
    builder,
    reasons,
    files,
  });
  if (opts.cleanup === 'constraint') {
    planConstraintCleanup({
      g,
      stores: storeMap,
      maxSpace,
      files,
      builder,
      defaultRetries: opts.defaultRetries,
      reasons,
      problems,
      source,
    });
    throwIfAny(problems, wf.name);
  } else {
    planCleanup(opts.cleanup, g, storeMap, files, builder, opts.defaultRetries, reasons);
  }
  attachStoreAccess(builder.jobs, access);

  const jobs = builder.finish();
  // Members of a cluster list their parents inside the cluster (run order is topological).
  for (const cluster of clustering.clusters) {
    const c = clustering.clusterOf[cluster.members[0]!]!;
    for (const j of cluster.members) {
      const parents: string[] = [];
      for (let i = g.parents.start[j]!; i < g.parents.start[j + 1]!; i++) {
        const p = g.parents.items[i]!;
        if (clustering.clusterOf[p] === c) parents.push(g.jobs[p]!.id);
      }
      compute[j]!.parents = parents;
    }
  }

  const skipped: string[] = [];
  for (let j = 0; j < n; j++) if (pruned[j]) skipped.push(g.jobs[j]!.id);
  return {
    format: 'aloft-plan/1',
    workflow: { name: wf.name, jobs: wf.jobs.length },
    options: opts,
    jobs,
    skipped,
    stores: planStores,
    outputStore: stores.outputStore,
    reasons: reasons.list(),
  };

  /**
   * Per store: the maxspace it is kept under with `--cleanup constraint` (undefined: none).
   * Sites sharing a store give it the smallest of their maxspaces; the output store is never
   * cleaned, so a maxspace there cannot be kept and is ignored with a reason.
   */
  function storeMaxSpace(
    mode: PlanOptions['cleanup'],
    urls: readonly string[],
    firstSite: readonly number[],
    names: readonly string[],
    outputStore: string,
  ): (MaxSpace | undefined)[] {
    const out: (MaxSpace | undefined)[] = urls.map(() => undefined);
    if (mode !== 'constraint') return out;
    names.forEach((site) => {
      const st = storeOfUrl.get(stores.of(site))!;
      const m = storeSettings.maxSpace(site);
      if (!m) return;
      if (urls[st] === outputStore) {
        reasons.add(
          site,
          'cleanup',
          `maxspace ${m.bytes} from ${m.from} ignored: the ${site} store is the output store, which is never cleaned`,
        );
        return;
      }
      const had = out[st];
      if (had && had.bytes <= m.bytes) return;
      if (had) {
        reasons.add(
          site,
          'cleanup',
          `the store ${urls[st]} is shared with ${names[firstSite[st]!]}: kept under the smaller maxspace, ${m.bytes} bytes from ${m.from}`,
        );
      }
      out[st] = m;
    });
    if (!out.some((m) => m !== undefined)) {
      problems.add('maxspace', {
        where: `${source}: cleanup constraint`,
        message: 'no store of this plan has a maxspace, so there is nothing to keep under it',
        hint: `set the pegasus profile ${MAXSPACE_KEY} (bytes, or e.g. '20GB') on the compute sites in the site catalog, or in the workflow's profiles for every site; or plan with --cleanup inplace`,
      });
    }
    return out;
  }
}

/**
 * Is `id` an abstract job's id? Asked for every helper job id the builder makes. Those ids
 * all contain '_' (stage_in_..., cleanup_...), and only the abstract ids that contain one
 * can equal them: a small set (usually empty) answers instead of the map of every job.
 * Exact for any id.
 */
function abstractIdTest(g: Graph): (id: string) => boolean {
  const withUnderscore = new Set<string>();
  for (let j = 0; j < g.jobs.length; j++) {
    const id = g.jobs[j]!.id;
    if (id.includes('_')) withUnderscore.add(id);
  }
  return (id) => (id.includes('_') ? withUnderscore.has(id) : g.index.has(id));
}

function clusterJob(
  id: string,
  cluster: Cluster,
  compute: readonly (PlannedJob | undefined)[],
  siteNames: readonly string[],
): PlannedJob {
  const members = cluster.members.map((j) => compute[j]!);
  const first = members[0]!;
  const resources = { ...first.resources, runtimeSec: 0 };
  let priority = first.priority;
  let retries = first.retries;
  let category: string | undefined = first.category;
  for (const m of members) {
    resources.cores = Math.max(resources.cores, m.resources.cores);
    resources.memoryMb = Math.max(resources.memoryMb, m.resources.memoryMb);
    resources.diskMb = Math.max(resources.diskMb, m.resources.diskMb);
    resources.gpus = Math.max(resources.gpus, m.resources.gpus);
    resources.runtimeSec += m.resources.runtimeSec;
    priority = Math.max(priority, m.priority);
    retries = Math.max(retries, m.retries);
    if (m.category !== category) category = undefined;
  }
  return {
    id,
    kind: 'cluster',
    site: siteNames[cluster.site]!,
    parents: NO_IDS,
    covers: members.map((m) => m.id),
    priority,
    retries,
    resources,
    category,
    members,
  };
}

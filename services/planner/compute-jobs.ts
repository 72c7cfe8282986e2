/**
 * Compute job specs: for each kept job on its chosen site, the merged profiles (see
 * profiles.ts for precedence), resources, retries (`dagman.retry`, else the default),
 * throttling category (`dagman.category`), the priority boost (`dagman.priority` or
 * `condor.priority`), the environment (merged `env` profiles) and the executable from the
 * transformation catalog entry for that site (installed: its path; stageable: a URL to
 * fetch; container resolved from the catalog's containers; the entry's `arch` and
 * `os.type` as the executable's arch / os, which the broker matches against agents' ads).
 * Invalid profile values are Problems naming the job.
 *
 * Objects that many jobs share (executables, merged profiles, resources and traits of jobs
 * without profiles of their own) are built once per (transformation, site) and shared
 * between planned jobs: plans are data, to be read, not mutated.
 */
import type {
  Container,
  Job,
  LoadedWorkflow,
  Profiles,
  Site,
  TransformationSite,
} from '../model/index.js';
import { jobWhere } from './graph.js';
import type { Executable, PlannedJob, Resources } from './plan-types.js';
import { NO_IDS } from './plan-builder.js';
import {
  integerProfile,
  isEmptyProfiles,
  mergeProfiles,
  numberProfile,
  profile,
  POSITIVE_INT,
  NON_NEGATIVE_INT,
  resourcesOf,
} from './profiles.js';
import type { ProblemList } from './problems.js';
import { toUrl } from './replicas.js';
import { displayName, type TransformationIndex } from './transformations.js';

export const SUBWORKFLOW_PFN = 'aloft:subworkflow';

/**
 * What planning reads from a compute job's profiles besides its PlannedJob (clustering,
 * priorities, staging). Plain data, read-only: jobs of one (transformation, site) without
 * profiles or a nodeLabel of their own share one object.
 */
export interface ComputeTraits {
  /** pegasus.clusters.size / .num (0 = not set). */
  clusterSize: number;
  clusterNum: number;
  /** pegasus.label profile, else the job's nodeLabel. */
  label: string | undefined;
  /** Priority boost from dagman.priority / condor.priority. */
  priorityBoost: number;
  /** Inputs bypass staging when they have a file:/http replica (transformation/container flag). */
  bypassInputs: boolean;
}

/** What the planner reads from one merged profile set. */
interface ProfileReading {
  /** Frozen: shared by every planned job made from this reading. */
  resources: Resources;
  retries: number;
  category: string | undefined;
  env: Record<string, string> | undefined;
  profiles: Profiles | undefined;
  traits: ComputeTraits;
}

interface SiteEntry {
  /** Reading of `withWorkflow`, made on first use. */
  reading?: ProfileReading;
  executable: Executable;
  base: Profiles;
  /** base merged with the workflow profiles: the whole merge for jobs without profiles. */
  withWorkflow: Profiles;
  bypassInputs: boolean;
}

/**
 * Builds the compute PlannedJob and traits of each kept job, into `jobs` and `traits`
 * (indexed by abstract job; undefined for jobs not planned). Flat arrays instead of one
 * spec object per job: at 1M jobs every per-job object is a million objects for the GC.
 */
export class ComputeSpecs {
  readonly jobs: (PlannedJob | undefined)[];
  readonly traits: (ComputeTraits | undefined)[];
  /** Per transformation index + 1 (0: sub-workflows), per site name. */
  private readonly entries: Map<string, SiteEntry | null>[] = [];
  private readonly sites = new Map<string, Site>();
  private readonly containers = new Map<string, Container>();

  constructor(
    private readonly loaded: LoadedWorkflow,
    private readonly tc: TransformationIndex,
    private readonly defaultRetries: number,
    private readonly problems: ProblemList,
    /** Number of abstract jobs. */
    n: number,
  ) {
    this.jobs = new Array<PlannedJob | undefined>(n);
    this.traits = new Array<ComputeTraits | undefined>(n);
    for (const s of loaded.sites.sites) if (!this.sites.has(s.name)) this.sites.set(s.name, s);
    for (const c of loaded.transformations.containers) {
      if (!this.containers.has(c.name)) this.containers.set(c.name, c);
    }
  }

  private entry(ti: number, site: string, job: Job): SiteEntry | null {
    const bySite = (this.entries[ti + 1] ??= new Map<string, SiteEntry | null>());
    const hit = bySite.get(site);
    if (hit !== undefined) return hit;
    const siteProfiles = this.sites.get(site)?.profiles;
    let made: SiteEntry | null;
    if (ti < 0) {
      const executable: Executable = { name: job.name, pfn: SUBWORKFLOW_PFN, type: 'installed' };
      const base = mergeProfiles([siteProfiles]);
      made = {
        executable,
        base,
        withWorkflow: mergeProfiles([base, this.loaded.workflow.profiles]),
        bypassInputs: false,
      };
    } else {
      const t = this.tc.get(ti);
      const here = t.sites.filter((s) => s.name === site);
      const chosen: TransformationSite | undefined =
        here.find((s) => s.type === 'installed') ??
        here.find((s) => s.type === 'stageable') ??
        t.sites.find((s) => s.type === 'stageable' && s.name === 'local') ??
        t.sites.find((s) => s.type === 'stageable');
      if (!chosen) {
        made = null; // site selection only picks sites where this cannot happen
      } else {
        let container: Container | undefined;
        if (chosen.container !== undefined) {
          container = this.containers.get(chosen.container);
          if (!container) {
            this.problems.add('unknown container', {
              where: `${this.loaded.sources.transformations ?? this.loaded.sources.workflow}: transformation ${displayName(t)}`,
              message: `transformation ${displayName(t)} on site ${chosen.name} names container ${chosen.container}, which the transformation catalog does not define`,
              hint: `add a container named ${chosen.container} under containers, or fix the name`,
            });
          }
        }
        const executable: Executable = {
          namespace: t.namespace,
          name: t.name,
          version: t.version,
          pfn: chosen.type === 'stageable' ? toUrl(chosen.pfn) : chosen.pfn,
          type: chosen.type,
        };
        // The platform the chosen entry is built for: the broker places the job only on
        // agents whose ad has the same arch / os (Pegasus' tc `arch`, `os.type`).
        if (chosen.arch !== undefined && chosen.arch !== '') executable.arch = chosen.arch;
        if (chosen.osType !== undefined && chosen.osType !== '') executable.os = chosen.osType;
        if (container) {
          executable.container = {
            name: container.name,
            type: container.type,
            image: container.image,
            mounts: [...container.mounts],
          };
        }
        const base = mergeProfiles([
          siteProfiles,
          t.profiles,
          chosen.profiles,
          container?.profiles,
        ]);
        made = {
          executable,
          base,
          withWorkflow: mergeProfiles([base, this.loaded.workflow.profiles]),
          bypassInputs: chosen.bypass || container?.bypass === true,
        };
      }
    }
    bySite.set(site, made);
    return made;
  }

  /** The keys the planner reads from merged profiles; Problems name `job`. */
  private read(merged: Profiles, e: SiteEntry, job: Job): ProfileReading {
    const bad = (message: string, hint: string): void =>
      this.problems.add(`bad profile ${message.split(' ')[1] ?? ''}`, {
        where: jobWhere(this.loaded.sources.workflow, job.id),
        message,
        hint,
      });
    const boost =
      profile(merged, 'dagman', 'priority') !== undefined
        ? integerProfile(merged, 'dagman', 'priority', bad)
        : integerProfile(merged, 'condor', 'priority', bad);
    const env = merged['env'];
    return {
      resources: Object.freeze(resourcesOf(merged, bad)),
      retries:
        numberProfile(merged, 'dagman', 'retry', NON_NEGATIVE_INT, bad) ?? this.defaultRetries,
      category: profile(merged, 'dagman', 'category'),
      env: env && Object.keys(env).length > 0 ? env : undefined,
      profiles: isEmptyProfiles(merged) ? undefined : merged,
      traits: {
        clusterSize: numberProfile(merged, 'pegasus', 'clusters.size', POSITIVE_INT, bad) ?? 0,
        clusterNum: numberProfile(merged, 'pegasus', 'clusters.num', POSITIVE_INT, bad) ?? 0,
        label: profile(merged, 'pegasus', 'label'),
        priorityBoost: boost ?? 0,
        bypassInputs: e.bypassInputs,
      },
    };
  }

  /**
   * Plan `job` (abstract index `j`) as a compute job on `site` (parents, priority and io are
   * filled in later): sets `jobs[j]` and `traits[j]`, or leaves them undefined when the
   * transformation has no entry usable there.
   */
  add(j: number, job: Job, ti: number, site: string): void {
    const e = this.entry(ti, site, job);
    if (!e) return;
    // Jobs without profiles of their own share one reading per (transformation, site).
    const r = isEmptyProfiles(job.profiles)
      ? (e.reading ??= this.read(e.withWorkflow, e, job))
      : this.read(mergeProfiles([e.withWorkflow, job.profiles]), e, job);
    const args = ti < 0 && job.file !== undefined ? [job.file, ...job.arguments] : job.arguments;
    this.jobs[j] = {
      id: job.id,
      kind: 'compute',
      site,
      parents: NO_IDS,
      covers: [job.id],
      priority: 0,
      retries: r.retries,
      resources: r.resources,
      category: r.category,
      executable: e.executable,
      args,
      env: r.env,
      // filled by staging, which knows the stores
      inputs: undefined,
      outputs: undefined,
      stdin: job.stdin,
      stdout: job.stdout,
      stderr: job.stderr,
      profiles: r.profiles,
    };
    this.traits[j] =
      r.traits.label === undefined && job.nodeLabel !== undefined
        ? { ...r.traits, label: job.nodeLabel }
        : r.traits;
  }
}

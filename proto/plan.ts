/**
 * The plan: the executable workflow the planner produces (DESIGN §5), and the job spec an
 * agent receives. It lives in proto/ because both sides depend on it. Plain data,
 * JSON-serialisable, deterministic for the same inputs. The runtime executes a plan and
 * nothing else; everything the runtime needs to know about a job is here.
 */

/** Profiles by namespace (env, pegasus, condor, dagman, globus, selector, aloft), then key. */
export type Profiles = Record<string, Record<string, string>>;

export interface Checksum {
  type: 'sha256';
  value: string;
}

export type PlannedJobKind =
  'compute' | 'stage_in' | 'stage_out' | 'inter_site' | 'register' | 'cleanup' | 'cluster';

export const PLANNED_JOB_KINDS: readonly PlannedJobKind[] = [
  'compute',
  'stage_in',
  'stage_out',
  'inter_site',
  'register',
  'cleanup',
  'cluster',
];

export type CleanupMode = 'inplace' | 'leaf' | 'constraint' | 'none';
export type ClusterStyle = 'horizontal' | 'label';
export type SiteSelector = 'random' | 'round-robin';

export interface PlanOptions {
  /** Compute sites the planner may use; empty = every site of the catalog able to run the job. */
  sites: string[];
  /** Site whose storage receives stageOut files (Pegasus `--output-sites`, default "local"). */
  outputSite: string;
  cleanup: CleanupMode;
  cluster: ClusterStyle[];
  /** Prune jobs whose outputs already exist (replica catalog or output site). */
  reuse: boolean;
  /** Overrides reuse: plan every job. */
  force: boolean;
  siteSelector: SiteSelector;
  /** Seed for the random site selector, so plans stay deterministic. */
  seed: number;
  /** Default retries when no dagman.retry profile is given. */
  defaultRetries: number;
  /**
   * Base URL (ending in '/') of stores for sites whose catalog entry names no scratch
   * directory: site S stores its files under `${storeRoot}${S}/`. The embedded run points
   * this at the run directory.
   */
  storeRoot: string;
  /** Overrides the output site's storage URL (ending in '/'); `aloft run --output-dir`. */
  outputUrl?: string;
  /**
   * Lfns known to exist already (earlier runs' output replica catalog, a listing of the
   * output store), gathered by the caller: the planner itself does no I/O. Used by reuse,
   * trusted without checksums (prefer `existing`).
   */
  available?: string[];
  /**
   * Copies of workflow outputs the caller looked for before planning (earlier runs' output
   * replica catalogs, the output store), with what it found and the checksums it knows.
   * Used by reuse: a job is skipped only when each output has a copy whose sha256 matches
   * the known one (services/planner/reuse.ts states the rule).
   */
  existing?: ExistingFile[];
}

/** One location of an output, as the caller found it before planning (PlanOptions.existing). */
export interface ExistingFile {
  lfn: string;
  /** Where the copy is, or where an earlier run recorded it. */
  url: string;
  /** Site of that location (the output site for the output store). */
  site: string;
  /** A file is there now. False: an earlier run recorded it there, but it is gone. */
  present: boolean;
  /** sha256 (hex) of the bytes there, when the caller could tell (hashed, or store metadata). */
  sha256?: string;
  /** The sha256 an earlier run recorded for this lfn, and which run recorded it. */
  recorded?: { sha256: string; by: string };
  size?: number;
}

/**
 * How agents reach one store that the site catalog gives settings for (a site's `aloft`
 * profiles s3.endpoint, s3.region, s3.path-style; services/planner/site-stores.ts). It
 * applies to every URL that starts with `url`. Never credentials: an agent takes those from
 * its own environment or s3cfg.
 */
export interface StoreAccess {
  /** Base URL of the store, ending in '/': s3://bucket/prefix/ or s3://user@site/bucket/prefix/. */
  url: string;
  /** The site whose catalog entry gives the settings. */
  site: string;
  /** http(s)://host[:port] of the S3-compatible server. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing (http://host/bucket/key) instead of virtual-hosted buckets. */
  pathStyle?: boolean;
}

/** A resource request from profiles (pegasus.cores, .memory in MB, .diskspace in MB, ...). */
export interface Resources {
  cores: number;
  memoryMb: number;
  diskMb: number;
  /** Expected (or limit) runtime in seconds; 0 = unknown/unlimited. */
  runtimeSec: number;
  gpus: number;
}

export interface PlannedFile {
  lfn: string;
  size?: number;
  checksum?: Checksum;
  /** Outputs only: a missing optional output does not fail the job. */
  optional?: boolean;
  /**
   * Inputs: URL the agent fetches the file from (the compute site's store after stage-in,
   * or the replica location for bypassed inputs). Outputs: URL the agent uploads to.
   */
  url: string;
}

export interface Executable {
  namespace?: string;
  name: string;
  version?: string;
  /** Installed: an absolute path on the site, or an `aloft:` builtin (e.g. aloft:synthetic).
   *  Stageable: a URL the agent fetches the executable from. */
  pfn: string;
  type: 'installed' | 'stageable';
  /** Architecture the executable needs (the transformation site's `arch`); the broker matches it. */
  arch?: string;
  /** Operating system it needs (the transformation site's `os.type`); the broker matches it. */
  os?: string;
  container?: {
    name: string;
    type: 'docker' | 'singularity' | 'shifter';
    image: string;
    mounts: string[];
  };
}

export interface Transfer {
  lfn: string;
  /** Candidate sources in order of preference; the agent fails over down the list. */
  sources: { url: string; site: string }[];
  dest: { url: string; site: string };
  size?: number;
  checksum?: Checksum;
}

export interface Registration {
  lfn: string;
  pfn: string;
  site: string;
}

export interface PlannedJob {
  /** Unique in the plan; compute jobs keep their abstract id. Matches [A-Za-z0-9_-]+. */
  id: string;
  kind: PlannedJobKind;
  /** Site that runs it (for transfers: the site whose agent performs the transfer). */
  site: string;
  /** Ids of planned jobs that must succeed first. */
  parents: string[];
  /** Abstract job ids this planned job covers (compute: itself; cluster: its members). */
  covers: string[];
  priority: number;
  retries: number;
  resources: Resources;
  /** Throttling category (Pegasus dagman category profile); undefined = none. */
  category?: string;

  // compute
  executable?: Executable;
  /** argv[1..]; argv[0] comes from the executable. */
  args?: string[];
  env?: Record<string, string>;
  inputs?: PlannedFile[];
  outputs?: PlannedFile[];
  stdin?: string;
  stdout?: string;
  stderr?: string;
  profiles?: Profiles;

  // cluster: member compute jobs, run in order by one attempt
  members?: PlannedJob[];

  // stage_in / stage_out / inter_site
  transfers?: Transfer[];
  // register
  registrations?: Registration[];
  // cleanup
  deletes?: { lfn: string; url: string }[];

  /** Settings of the stores this job's URLs are in, when the site catalog gives any. */
  storeAccess?: StoreAccess[];
}

/** One planning decision a user could wonder about. */
export interface Reason {
  /** Job id or lfn the decision is about. */
  subject: string;
  decision:
    | 'skip'
    | 'reuse'
    | 'site'
    | 'cluster'
    | 'stage'
    | 'cleanup'
    | 'register'
    | 'priority'
    | 'resources';
  message: string;
}

export interface Plan {
  format: 'aloft-plan/1';
  workflow: { name: string; jobs: number };
  options: PlanOptions;
  jobs: PlannedJob[];
  /** Abstract jobs pruned by data reuse. */
  skipped: string[];
  /** Where each compute site keeps files: site name -> store base URL (ends with '/'). */
  stores: Record<string, string>;
  /** Where stageOut files go: the output site's storage base URL (ends with '/'). */
  outputStore: string;
  reasons: Reason[];
}

/**
 * The workflow model: what a Pegasus 5 workflow and its three catalogs say, after parsing
 * and normalisation, before planning. Plain data (JSON-serialisable), no behaviour.
 *
 * Normalisation contract (readers must produce exactly this):
 * - every scalar Pegasus reads as a string is a string here (arguments, versions, profile
 *   values, metadata values);
 * - booleans are booleans and sizes are numbers (bytes), parsed leniently from strings;
 * - absent collections are empty ([] or {}), never undefined;
 * - `x-*` keys are dropped, except `x-aloft` which is kept in `extensions`.
 */

import type { Checksum, Profiles } from '../../proto/plan.js';

export type { Checksum, Profiles };

export type Metadata = Record<string, string>;

export type FileLink = 'input' | 'output' | 'checkpoint';

export interface FileUse {
  lfn: string;
  link: FileLink;
  /** Outputs: copy to the output site after the job (Pegasus `stageOut`, default true). */
  stageOut: boolean;
  /** Outputs: record in the output replica catalog (Pegasus `registerReplica`, default true). */
  registerReplica: boolean;
  /** Inputs: use in place from the replica location, no stage-in (Pegasus `bypass`). */
  bypass: boolean;
  /** Used by the planner of a sub-workflow only; not staged to the compute job. */
  forPlanning: boolean;
  /** A missing optional output does not fail the job. */
  optional: boolean;
  /** Size in bytes when known (metadata.size or WfCommons sizeInBytes). */
  size?: number;
  metadata: Metadata;
}

export type JobType = 'job' | 'pegasusWorkflow' | 'condorWorkflow';

export interface Job {
  id: string;
  type: JobType;
  /** Transformation name (for sub-workflows: the name Pegasus gives it). */
  name: string;
  namespace?: string;
  version?: string;
  nodeLabel?: string;
  /** Argument tokens as strings; an lfn appears as its plain name. */
  arguments: string[];
  uses: FileUse[];
  stdin?: string;
  stdout?: string;
  stderr?: string;
  profiles: Profiles;
  metadata: Metadata;
  /** Sub-workflow jobs: the workflow file (an lfn). */
  file?: string;
}

export interface Dependency {
  /** Parent job id. */
  id: string;
  children: string[];
}

export interface ReplicaLocation {
  pfn: string;
  site: string;
}

export interface Replica {
  lfn: string;
  pfns: ReplicaLocation[];
  /** lfn is a regular expression and pfns may reference groups ([1], [2]...). */
  regex: boolean;
  checksum?: Checksum;
  metadata: Metadata;
}

export interface ReplicaCatalog {
  replicas: Replica[];
}

export type TransformationType = 'installed' | 'stageable';

export interface TransformationSite {
  name: string;
  pfn: string;
  type: TransformationType;
  arch?: string;
  osType?: string;
  osRelease?: string;
  osVersion?: string;
  /** Name of a container in the catalog's `containers`. */
  container?: string;
  /** Executable is used in place, not staged (only meaningful for stageable). */
  bypass: boolean;
  profiles: Profiles;
  metadata: Metadata;
}

export interface Transformation {
  namespace?: string;
  name: string;
  version?: string;
  requires: string[];
  sites: TransformationSite[];
  profiles: Profiles;
  metadata: Metadata;
  checksum?: Checksum;
}

export type ContainerType = 'docker' | 'singularity' | 'shifter';

export interface Container {
  name: string;
  type: ContainerType;
  image: string;
  imageSite?: string;
  mounts: string[];
  bypass: boolean;
  checksum?: Checksum;
  profiles: Profiles;
  metadata: Metadata;
}

export interface TransformationCatalog {
  transformations: Transformation[];
  containers: Container[];
}

export type DirectoryType = 'sharedScratch' | 'sharedStorage' | 'localScratch' | 'localStorage';

export interface FileServer {
  url: string;
  operation: 'all' | 'get' | 'put';
}

export interface Directory {
  type: DirectoryType;
  path: string;
  sharedFileSystem: boolean;
  freeSize?: number;
  totalSize?: number;
  fileServers: FileServer[];
}

export interface Site {
  name: string;
  arch?: string;
  osType?: string;
  osRelease?: string;
  osVersion?: string;
  directories: Directory[];
  profiles: Profiles;
  metadata: Metadata;
}

export interface SiteCatalog {
  sites: Site[];
}

export interface Workflow {
  name: string;
  /** The `pegasus:` version string of the source, e.g. "5.0.4". */
  pegasusVersion: string;
  jobs: Job[];
  /** Explicit `jobDependencies` as written; inferred edges come from `deriveGraph`. */
  dependencies: Dependency[];
  profiles: Profiles;
  metadata: Metadata;
  /** Inline catalogs, when the workflow file carries them. */
  replicaCatalog?: ReplicaCatalog;
  transformationCatalog?: TransformationCatalog;
  siteCatalog?: SiteCatalog;
  /** Contents of `x-aloft` keys at the top level. */
  extensions: Record<string, unknown>;
}

/** A workflow with the catalogs that apply to it, and where each came from (for messages). */
export interface LoadedWorkflow {
  workflow: Workflow;
  replicas: ReplicaCatalog;
  transformations: TransformationCatalog;
  sites: SiteCatalog;
  /** Things the reader tolerated but a user may want to know (e.g. an unfetchable $ref). */
  warnings: string[];
  sources: {
    workflow: string;
    replicas?: string;
    transformations?: string;
    sites?: string;
  };
}

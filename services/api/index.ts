/**
 * The TypeScript authoring API, in the spirit of Pegasus' Python API (`Pegasus.api`):
 * build a workflow and its catalogs with chained calls, write Pegasus 5 YAML, or get the
 * model directly.
 */
export { Workflow, type WorkflowOptions } from './workflow.js';
export {
  AbstractJob,
  Job,
  SubWorkflow,
  type JobOptions,
  type InputOptions,
  type OutputOptions,
} from './job.js';
export { File, type FileLike } from './file.js';
export { ReplicaCatalog, type ReplicaOptions } from './replica-catalog.js';
export {
  TransformationCatalog,
  Transformation,
  TransformationSite,
  Container,
  type TransformationOptions,
  type TransformationSiteOptions,
  type ContainerOptions,
  type OsOptions,
} from './transformation-catalog.js';
export { SiteCatalog, Site, Directory, FileServer, type Operation } from './site-catalog.js';
export { Annotated, type ScalarValue } from './annotated.js';
export { PEGASUS_VERSION } from './version.js';

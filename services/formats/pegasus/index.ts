/**
 * Pegasus 5 YAML: the workflow reader (with catalog discovery and merging) and the pure
 * converters from parsed documents to the model.
 */
export { readWorkflow, type ReadWorkflowOptions } from './read-workflow.js';
export { workflowFromDocument } from './workflow-document.js';
export { replicaCatalogFromDocument } from './replica-catalog.js';
export { transformationCatalogFromDocument } from './transformation-catalog.js';
export { siteCatalogFromDocument } from './site-catalog.js';
export {
  mergeReplicaCatalogs,
  mergeSiteCatalogs,
  mergeTransformationCatalogs,
} from './merge-catalogs.js';
export { expandVars } from './expand-env.js';
export { PROFILE_NAMESPACES } from './common.js';

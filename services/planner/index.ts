/**
 * The planner (DESIGN §5): validate a loaded workflow, plan it onto sites, and explain,
 * draw or summarise the plan. Pure functions over plain data.
 */
export { validate, checkWorkflow, type WorkflowCheck } from './validate.js';
export { plan } from './plan.js';
export { defaultPlanOptions, DEFAULT_STORE_ROOT } from './options.js';
export { explain, summarize, type PlanSummary } from './explain.js';
export { toDot } from './dot.js';
export { outputStoreUrl } from './stores.js';
export { planJsonChunks } from './serialize.js';
export * from './plan-types.js';
export { outputStoreLocation, type StoreLocation } from './stores.js';
export { findExistingOutputs, outputLfns, type FindExistingOptions } from './reuse-evidence.js';
export { siteS3Routes } from './store-access.js';

/**
 * Workflow formats: Pegasus 5 YAML (the native format), WfCommons WfFormat traces, and the
 * safe YAML loader/writer underneath. Everything here produces the model in services/model.
 */
export * from './yaml/index.js';
export * from './pegasus/index.js';
export * from './wfcommons/index.js';

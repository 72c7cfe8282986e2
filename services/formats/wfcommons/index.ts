/** WfCommons WfFormat (1.3–1.5) traces imported as workflows. */
export { importWfFormat, type ImportWfFormatOptions } from './import-wfformat.js';
export { workflowFromWfFormat, taskJobName } from './wfformat.js';
export { UniqueNames } from './unique-names.js';

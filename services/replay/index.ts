export {
  syntheticCatalogs,
  rootInputs,
  SYNTHETIC_PFN,
  REPLAY_SITE,
  type SyntheticCatalogs,
} from './synthetic-catalogs.js';
export { prepareReplayWorkflow, type ReplayScales } from './prepare-replay.js';
export { generateInputs, writeSyntheticFile } from './generate-inputs.js';
export {
  DEFAULT_REPLAY_SCALES,
  isImportedTrace,
  prepareTraceSubmission,
  type TraceSubmission,
  type TraceSubmissionOptions,
} from './trace-submission.js';

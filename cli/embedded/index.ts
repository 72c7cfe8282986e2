/** The embedded runner: planner, engine and a local agent in one process. */
export { runEmbedded, type RunEmbeddedOptions } from './run-embedded.js';
export { resolveRun, runsRoot, type Resolution, type ReuseInputs } from './resolve-run.js';
export { progressLine, summaryText, type Summary } from './progress.js';

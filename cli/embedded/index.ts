/** The embedded runner: planner, engine and a local agent in one process. */
export { runEmbedded, type RunEmbeddedOptions } from './run-embedded.js';
export { resolveRun, availableLfns, runsRoot, type Resolution } from './resolve-run.js';
export { progressLine, summaryText, type Summary } from './progress.js';

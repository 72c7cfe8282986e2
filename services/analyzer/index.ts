/**
 * The analyzer: why did a run fail. A pure projection of the journal and the plan
 * (AnalyzeFold → AnalysisView), the cause/next-step rules, and the text rendering.
 */
export {
  AnalyzeFold,
  FIRST_FEW,
  type AnalysisView,
  type FailedJob,
  type AttemptSummary,
} from './analyze-fold.js';
export { diagnose, type Diagnosis, type DiagnoseInput } from './diagnose.js';
export { shellQuote, shellJoin } from './shell-quote.js';
export { renderAnalysis, TAIL_LINES } from './render.js';

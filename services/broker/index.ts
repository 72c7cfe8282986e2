/**
 * The broker (DESIGN §6): matchmaking of ready jobs to agents as pure logic over a
 * snapshot — requirements, label selectors, the matching pass, idle explanations, and the
 * quarantine and mass-loss policies. The scheduler service supplies the snapshot and acts
 * on the answers.
 */
export {
  parseSelector,
  clauseMatches,
  selectorMatches,
  describeClause,
  type SelectorClause,
  type SelectorOp,
} from './selector.js';
export {
  requirementsOf,
  staticSignature,
  normalizeArch,
  normalizeOs,
  type Requirements,
  type LocalityKey,
} from './requirements.js';
export {
  CacheIndex,
  NO_USE,
  capacityFits,
  staticFit,
  servesSite,
  sitesOf,
  type AgentState,
  type AgentView,
  type ResourceUse,
} from './agent-view.js';
export {
  match,
  type MatchSnapshot,
  type MatchResult,
  type Assignment,
  type IdleJob,
  type IdleReason,
  type Throttles,
} from './match.js';
export { explainIdle, formatMb, type ClauseCount, type IdleExplanation } from './explain.js';
export {
  QuarantinePolicy,
  massLoss,
  massLossHold,
  type AgentFailureEvent,
  type QuarantineOptions,
  type Quarantine,
  type MassLossOptions,
  type MassLossVerdict,
} from './quarantine.js';

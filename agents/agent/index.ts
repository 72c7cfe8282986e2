/** Public surface of the agent. */
export {
  createAgent,
  runtimeLimitMs,
  type Agent,
  type AgentOptions,
  type AgentExecutors,
  type StopOptions,
} from './agent.js';
export { createOutbox, keyId, type Outbox } from './outbox.js';
export { inputsOf, outputsOf, stageIn, stageOut, type StageResult } from './staging.js';

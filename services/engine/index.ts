/** The engine (DAGMan's job): the pure state machine and the driver that runs a plan. */
export {
  EngineState,
  type EngineStateOptions,
  type JobState,
  type CountState,
  type Counts,
  type ResultVerdict,
  type Dispatch,
  type RunningAttempt,
} from './engine-state.js';
export {
  createEngine,
  ENGINE_AGENT,
  type Engine,
  type EngineOptions,
  type JobTransfer,
  type Placement,
} from './engine.js';

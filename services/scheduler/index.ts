/** The scheduler service: many workflows' engines, the agent registry and leases, over one transport. */
export {
  AgentRegistry,
  DEFAULT_LEASE_MS,
  type AgentInfo,
  type HeartbeatInfo,
  type Leases,
  type RegistryOptions,
} from './agent-registry.js';
export {
  createScheduler,
  type Scheduler,
  type SchedulerOptions,
  type SubmitOptions,
  type WorkflowState,
  type WorkflowStatus,
  type IdleReport,
  type HoldStatus,
} from './scheduler.js';

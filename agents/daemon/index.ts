/** Public surface of the agent daemon (`aloft agent`): config, probe, heartbeats, wiring. */
export {
  AGENT_ENV_PREFIX,
  agentSchema,
  loadAgentConfig,
  sanitizeHostname,
  type AgentConfig,
  type AgentConfigSources,
  type AgentSchema,
} from './config.js';
export {
  adFields,
  diskLow,
  LOW_DISK_FRACTION,
  probeDisk,
  probeSystem,
  type DiskFacts,
  type SystemFacts,
} from './probe.js';
export { createHeartbeater, type Heartbeater, type HeartbeaterOptions } from './heartbeat.js';
export { connectAgentTransport, type ConnectOptions } from './connect.js';
export {
  createAgentDaemon,
  type AgentDaemon,
  type AgentDaemonOptions,
  type DaemonTransport,
} from './daemon.js';

/** Public surface of the docker executor's helpers (the executor itself is ../docker-executor.ts). */
export {
  agentUser,
  containerSpec,
  dockerImageRef,
  parseMount,
  type BindMount,
  type ContainerSpec,
} from './container-spec.js';
export { createDemuxer } from './demux.js';
export {
  daemonAddress,
  daemonMessage,
  isUnreachable,
  statusOf,
  DEFAULT_DOCKER_SOCKET,
  type DaemonAddress,
} from './daemon.js';
export { sampleContainerUsage, type ContainerUsage, type UsageSampler } from './usage-sampler.js';

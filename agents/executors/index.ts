/** Public surface of the executors: the seam, the built-in executors and their helpers. */
export {
  emptyOutcome,
  plannedArgv,
  type ExecContext,
  type ExecOutcome,
  type Executor,
} from './executor.js';
export {
  createProcessExecutor,
  jobEnvironment,
  type ProcessExecutorOptions,
} from './process-executor.js';
export {
  createLauncher,
  locateLauncher,
  type Launch,
  type Launcher,
  type LaunchRequest,
  type LaunchResult,
  type LaunchSignal,
} from './launcher.js';
export {
  createSyntheticExecutor,
  writeSyntheticFile,
  SYNTHETIC_PFN,
} from './synthetic-executor.js';
export {
  createTransferExecutor,
  copyUrl,
  type TransferExecutorOptions,
} from './transfer-executor.js';
export { createCleanupExecutor } from './cleanup-executor.js';
export { createClusterExecutor } from './cluster-executor.js';
export { checkLfn, scratchPath, fileUrl } from './scratch-path.js';
export { readTail, TAIL_BYTES, type Tail } from './tail.js';
export { runPool } from './pool.js';
export {
  createDockerExecutor,
  DOCKER_LABELS,
  type DockerExecutor,
  type DockerExecutorOptions,
} from './docker-executor.js';

/** The control service: the gRPC API (aloft.v1.Control) over a scheduler, and its config. */
export {
  createControlServer,
  type CatalogFiles,
  type ControlServer,
  type ControlServerOptions,
  type ControlTls,
  type WorkflowLoader,
} from './control-server.js';
export { fromServiceError, toStatusObject } from './grpc-errors.js';
export { tokenCheck, type TokenCheck } from './auth.js';
export { analyzeWorkflow, checkWorkflowId, workflowStatus } from './views.js';
export {
  SCHEDULER_ENV_PREFIX,
  guardsOf,
  leasesOf,
  loadSchedulerConfig,
  parseListen,
  schedulerSchema,
  type SchedulerConfig,
  type SchedulerConfigSources,
} from './config.js';

/** Public surface of the agent test support: a protocol driver and planned-job builders. */
export {
  createProtocolDriver,
  plannedJob,
  processJob,
  type ProtocolDriver,
} from './protocol-driver.js';
export { startTestAgent, type TestAgent } from './test-agent.js';

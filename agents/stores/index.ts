/** Public surface of the agent's store resolution: which store serves a URL for a job. */
export { storeForJob, routesOf, MAX_ROUTED, type StoreResolver } from './store-for-job.js';

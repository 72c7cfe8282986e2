/**
 * Which store serves a URL for one job (issue 4: a job's `storeAccess` decides how its agent
 * reaches the stores it names). The plan carries, per job, the endpoint / region /
 * path-style settings the site catalog gives for each s3:// store the job touches
 * (proto/plan.ts StoreAccess; never credentials). Every path of the agent that opens a
 * store for a job — stage-in (directly or through the input cache), stage-out, transfer
 * and cleanup jobs — asks `storeForJob(job)(url)` instead of the global registry.
 *
 * The entries become S3 routes over the agent's own s3 store (lib/store routed-stores.ts
 * states the contract: credentials always from the agent's environment, one routed store
 * per distinct set, the registry itself for a job without s3:// entries).
 */
import {
  s3RouteOf,
  storeForRoutes,
  type S3Route,
  type StoreResolver,
} from '../../lib/store/index.js';
import type { PlannedJob } from '../../proto/index.js';

export { MAX_ROUTED, type StoreResolver } from '../../lib/store/index.js';

const S3 = /^s3:/i;

/** The s3 routes of a job's StoreAccess entries, in a stable order. */
export function routesOf(job: Pick<PlannedJob, 'storeAccess'>): S3Route[] {
  return (job.storeAccess ?? [])
    .filter((a) => S3.test(a.url))
    .map((a) => s3RouteOf(a.url, a))
    .sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
}

/** The store resolver for `job` (see the module header). */
export function storeForJob(job: Pick<PlannedJob, 'storeAccess'>): StoreResolver {
  return storeForRoutes(routesOf(job));
}

/**
 * Builders of plan data for tests that exercise the engine, the agent or the projections on
 * hand-made plans (independent of the planner). They construct contract data (proto types);
 * they do not stand in for any component.
 */
import type { Plan, PlannedJob } from '../../proto/plan.js';

/** A compute job with no executable, one core, no retries; `extra` overrides any field. */
export function plannedJob(
  id: string,
  parents: string[] = [],
  extra: Partial<PlannedJob> = {},
): PlannedJob {
  return {
    id,
    kind: 'compute',
    site: 'local',
    parents,
    covers: [id],
    priority: 0,
    retries: 0,
    resources: { cores: 1, memoryMb: 0, diskMb: 0, runtimeSec: 0, gpus: 0 },
    ...extra,
  };
}

/** A plan holding `jobs` as they are, with default options and stores under /tmp. */
export function planOf(jobs: PlannedJob[], name = 'test'): Plan {
  return {
    format: 'aloft-plan/1',
    workflow: { name, jobs: jobs.length },
    options: {
      sites: [],
      outputSite: 'local',
      cleanup: 'none',
      cluster: [],
      reuse: false,
      force: false,
      siteSelector: 'random',
      seed: 1,
      defaultRetries: 0,
      storeRoot: 'file:///tmp/stores/',
    },
    jobs,
    skipped: [],
    stores: {},
    outputStore: 'file:///tmp/out/',
    reasons: [],
  };
}

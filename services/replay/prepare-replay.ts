/**
 * Shape a trace for replay the way a Pegasus user would have written it: only final
 * products (outputs no job reads) are staged out, nothing is registered, and the scale
 * factors travel as workflow-level `aloft` profiles, which the planner merges into every
 * job and the agent's synthetic executor reads (`synthetic.time-scale`,
 * `synthetic.size-scale`). Returns a new workflow; the input is not modified.
 */
import type { Workflow } from '../model/types.js';

export interface ReplayScales {
  timeScale: number;
  sizeScale: number;
}

export function prepareReplayWorkflow(workflow: Workflow, scales: ReplayScales): Workflow {
  const consumed = new Set<string>();
  for (const job of workflow.jobs) {
    for (const use of job.uses) if (use.link === 'input') consumed.add(use.lfn);
  }
  return {
    ...workflow,
    profiles: {
      ...workflow.profiles,
      aloft: {
        ...workflow.profiles['aloft'],
        'synthetic.time-scale': String(scales.timeScale),
        'synthetic.size-scale': String(scales.sizeScale),
      },
    },
    jobs: workflow.jobs.map((job) => ({
      ...job,
      uses: job.uses.map((use) =>
        use.link === 'input'
          ? use
          : { ...use, stageOut: !consumed.has(use.lfn), registerReplica: false },
      ),
    })),
  };
}

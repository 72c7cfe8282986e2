/**
 * The transformation name a planned job is reported under by analyze and stats, in
 * Pegasus' spelling: `namespace::name:version` for compute jobs (parts omitted when the
 * catalog has none), and `aloft::<kind>` for the jobs the planner adds (stage_in,
 * stage_out, inter_site, register, cleanup) and for clusters, like Pegasus'
 * `pegasus::transfer` / `pegasus::cleanup` / `pegasus::seqexec`.
 */
import type { PlannedJob } from '../../proto/plan.js';

export function transformationOf(job: Pick<PlannedJob, 'kind' | 'executable'>): string {
  const x = job.executable;
  if (job.kind !== 'compute' || !x) return `aloft::${job.kind}`;
  return `${x.namespace ? `${x.namespace}::` : ''}${x.name}${x.version ? `:${x.version}` : ''}`;
}

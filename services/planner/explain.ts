/**
 * Human-readable views of a plan: explain() prints plan.reasons grouped by subject (job id
 * or lfn, in order of first mention), summarize() counts planned jobs by kind and site.
 */
import { PLANNED_JOB_KINDS, type Plan, type PlannedJobKind } from './plan-types.js';

export function explain(plan: Plan): string {
  const bySubject = new Map<string, string[]>();
  for (const r of plan.reasons) {
    const line = `  ${r.decision}: ${r.message}`;
    const list = bySubject.get(r.subject);
    if (list) list.push(line);
    else bySubject.set(r.subject, [line]);
  }
  const out: string[] = [];
  if (plan.skipped.length > 0) {
    out.push(`skipped by data reuse: ${plan.skipped.length} job(s)`, '');
  }
  for (const [subject, lines] of bySubject) {
    out.push(subject === '*' ? '(more)' : subject, ...lines);
  }
  if (bySubject.size === 0) out.push('no decisions to explain');
  return out.join('\n') + '\n';
}

export interface PlanSummary {
  /** Abstract jobs in the workflow. */
  jobs: number;
  /** Planned jobs by kind; every kind present. */
  planned: Record<PlannedJobKind, number>;
  /** Abstract jobs pruned by data reuse. */
  skipped: number;
  /** Abstract compute jobs placed on each site (cluster members counted one by one). */
  sites: Record<string, number>;
}

export function summarize(plan: Plan): PlanSummary {
  const planned = Object.fromEntries(PLANNED_JOB_KINDS.map((k) => [k, 0])) as Record<
    PlannedJobKind,
    number
  >;
  const sites: Record<string, number> = {};
  for (const job of plan.jobs) {
    planned[job.kind]++;
    if (job.kind === 'compute' || job.kind === 'cluster') {
      sites[job.site] = (sites[job.site] ?? 0) + job.covers.length;
    }
  }
  return { jobs: plan.workflow.jobs, planned, skipped: plan.skipped.length, sites };
}

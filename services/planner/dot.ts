/**
 * Graphviz view of a plan: one node per planned job, labelled with id, kind and site,
 * coloured and shaped by kind; one edge per parent link.
 */
import type { Plan, PlannedJobKind } from './plan-types.js';

const STYLE: Record<PlannedJobKind, { shape: string; color: string }> = {
  compute: { shape: 'box', color: '#9ecae1' },
  cluster: { shape: 'box3d', color: '#6baed6' },
  stage_in: { shape: 'invhouse', color: '#a1d99b' },
  inter_site: { shape: 'cds', color: '#fdd0a2' },
  stage_out: { shape: 'house', color: '#fdae6b' },
  register: { shape: 'note', color: '#dadaeb' },
  cleanup: { shape: 'octagon', color: '#fcbba1' },
};

function q(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export function toDot(plan: Plan): string {
  const out: string[] = [
    `digraph ${q(plan.workflow.name)} {`,
    '  rankdir=TB;',
    '  node [style=filled, fontname="Helvetica", fontsize=10];',
  ];
  for (const job of plan.jobs) {
    const s = STYLE[job.kind];
    const label = `${job.id}\n${job.kind}${job.kind === 'cluster' ? ` (${job.covers.length})` : ''}\n${job.site}`;
    out.push(`  ${q(job.id)} [label=${q(label)}, shape=${s.shape}, fillcolor=${q(s.color)}];`);
  }
  for (const job of plan.jobs) {
    for (const p of job.parents) out.push(`  ${q(p)} -> ${q(job.id)};`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}

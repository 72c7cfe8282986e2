/**
 * Job clustering (Pegasus `--cluster`), applied label first, then horizontal:
 * - label: kept compute jobs with the same `pegasus.label` profile (else nodeLabel) on the
 *   same site form one cluster;
 * - horizontal: jobs of the same transformation, site and level (longest path from a root)
 *   whose profiles set `pegasus.clusters.num` (clusters per level; wins when both are set)
 *   or `pegasus.clusters.size` (jobs per cluster) are cut into contiguous chunks.
 * A cluster of one job is no cluster. A clustering that would create a cycle (a path that
 * leaves a cluster and comes back) is refused with a Problem.
 */
import { buildCsr, dedupeCsr, IntList, transposeCsr } from './int-list.js';
import { findCycles, printCycle, topologicalOrder, type Graph } from './graph.js';
import type { ClusterStyle } from './plan-types.js';
import { listSome, type ProblemList } from './problems.js';
import type { ReasonLog } from './reasons.js';
import type { ComputeTraits } from './compute-jobs.js';

export interface Cluster {
  style: ClusterStyle;
  site: number;
  /** Member job indices in topological order. */
  members: number[];
  /** Human description for ids and reasons. */
  label?: string;
  transformation?: string;
  level?: number;
}

export interface Clustering {
  clusters: Cluster[];
  /** Cluster index per job, -1 when the job runs on its own. */
  clusterOf: Int32Array;
}

export function clusterJobs(
  g: Graph,
  styles: readonly ClusterStyle[],
  traits: readonly (ComputeTraits | undefined)[],
  transformationOf: Int32Array,
  jobSite: Int32Array,
  siteNames: readonly string[],
  level: Int32Array,
  source: string,
  problems: ProblemList,
  reasons: ReasonLog,
): Clustering {
  const n = g.jobs.length;
  const clusterOf = new Int32Array(n).fill(-1);
  const clusters: Cluster[] = [];
  if (styles.length === 0) return { clusters, clusterOf };
  const order = g.order;

  if (styles.includes('label')) {
    const groups = new Map<string, number[]>();
    for (let k = 0; k < order.length; k++) {
      const j = order[k]!;
      const tr = traits[j];
      if (!tr || tr.label === undefined) continue;
      const key = `${tr.label}\u0000${jobSite[j]}`;
      const list = groups.get(key);
      if (list) list.push(j);
      else groups.set(key, [j]);
    }
    for (const members of groups.values()) {
      const first = members[0]!;
      const label = traits[first]!.label!;
      if (members.length < 2) {
        if (reasons.wants('cluster')) {
          reasons.add(
            g.jobs[first]!.id,
            'cluster',
            `not clustered: no other job has label ${label} on ${siteNames[jobSite[first]!]}`,
          );
        } else reasons.count('cluster');
        continue;
      }
      for (const j of members) clusterOf[j] = clusters.length;
      clusters.push({ style: 'label', site: jobSite[first]!, members, label });
    }
  }

  if (styles.includes('horizontal')) {
    const groups = new Map<string, number[]>();
    for (let k = 0; k < order.length; k++) {
      const j = order[k]!;
      const tr = traits[j];
      if (!tr || clusterOf[j] !== -1 || transformationOf[j]! < 0) continue;
      if (tr.clusterNum === 0 && tr.clusterSize === 0) continue;
      const key = `${transformationOf[j]}\u0000${jobSite[j]}\u0000${level[j]}\u0000${tr.clusterNum}\u0000${tr.clusterSize}`;
      const list = groups.get(key);
      if (list) list.push(j);
      else groups.set(key, [j]);
    }
    for (const jobs of groups.values()) {
      const tr = traits[jobs[0]!]!;
      const chunks: number[][] = [];
      if (tr.clusterNum > 0) {
        const k = Math.min(tr.clusterNum, jobs.length);
        const small = Math.floor(jobs.length / k);
        const big = jobs.length % k;
        let at = 0;
        for (let c = 0; c < k; c++) {
          const size = small + (c < big ? 1 : 0);
          chunks.push(jobs.slice(at, at + size));
          at += size;
        }
      } else {
        for (let at = 0; at < jobs.length; at += tr.clusterSize) {
          chunks.push(jobs.slice(at, at + tr.clusterSize));
        }
      }
      const rule =
        tr.clusterNum > 0
          ? `pegasus.clusters.num=${tr.clusterNum}`
          : `pegasus.clusters.size=${tr.clusterSize}`;
      for (const members of chunks) {
        if (members.length < 2) continue;
        const first = members[0]!;
        for (const j of members) clusterOf[j] = clusters.length;
        clusters.push({
          style: 'horizontal',
          site: jobSite[first]!,
          members,
          transformation: g.jobs[first]!.name,
          level: level[first]!,
          label: rule,
        });
      }
    }
  }

  refuseCycles(g, clusters, clusterOf, siteNames, source, problems);
  return { clusters, clusterOf };
}

/** Contract every cluster to one node; any cycle in the result is a Problem. */
function refuseCycles(
  g: Graph,
  clusters: Cluster[],
  clusterOf: Int32Array,
  siteNames: readonly string[],
  source: string,
  problems: ProblemList,
): void {
  if (clusters.length === 0) return;
  const n = g.jobs.length;
  const units = n + clusters.length;
  const unit = (j: number): number => (clusterOf[j]! >= 0 ? n + clusterOf[j]! : j);
  const src = new IntList(g.edges + 1);
  const dst = new IntList(g.edges + 1);
  for (let p = 0; p < n; p++) {
    for (let i = g.children.start[p]!; i < g.children.start[p + 1]!; i++) {
      const a = unit(p);
      const b = unit(g.children.items[i]!);
      if (a !== b) {
        src.push(a);
        dst.push(b);
      }
    }
  }
  const children = dedupeCsr(buildCsr(units, src.view(), dst.view()), units);
  const parents = transposeCsr(children, units);
  const { acyclic, order } = topologicalOrder(units, children, parents);
  if (acyclic) return;
  const done = new Uint8Array(units);
  for (let i = 0; i < order.length; i++) done[order[i]!] = 1;
  const name = (u: number): string => {
    if (u < n) return g.jobs[u]!.id;
    const c = clusters[u - n]!;
    return c.style === 'label'
      ? `[label ${c.label} on ${siteNames[c.site]}]`
      : `[${c.transformation} cluster at level ${c.level} on ${siteNames[c.site]}]`;
  };
  for (const cycle of findCycles(units, children, (u) => done[u] === 0, 5)) {
    const at = Math.max(
      0,
      cycle.findIndex((u) => u >= n),
    );
    const rotated = [...cycle.slice(at), ...cycle.slice(0, at)];
    const clusterUnit = rotated[0]!;
    const c = clusters[clusterUnit - n];
    const first = c ? g.jobs[c.members[0]!]!.id : g.jobs[clusterUnit]!.id;
    problems.add('cluster cycle', {
      where: `${source}: job ${first}`,
      message: `clustering ${c ? name(clusterUnit) : ''} (${listSome(
        c ? c.members.map((j) => g.jobs[j]!.id) : [],
      )}) would create a cycle: ${printCycle(rotated.map(name))}`,
      hint:
        c?.style === 'label'
          ? `a job outside the label depends on one member and feeds another; give the members different labels or label the jobs in between too`
          : 'turn off horizontal clustering for these jobs (remove pegasus.clusters.size/num)',
    });
  }
}

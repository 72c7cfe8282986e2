import { describe, expect, test } from 'vitest';
import { isAloftError } from '../../lib/errors/index.js';
import type { Profiles } from '../model/index.js';
import {
  input,
  installedEverywhere,
  job,
  loaded,
  output,
  replica,
  workflow,
} from '../../test/helpers/planner-model.js';
import { defaultPlanOptions, plan, summarize, type Plan, type PlannedJob } from './index.js';

const opts = defaultPlanOptions({ storeRoot: 'file:///s/', cluster: ['horizontal'] });

/** R -> W1..Wn (one file each) -> Z; W jobs get `wProfiles`. */
function fan(n: number, wProfiles: Profiles, trProfiles: Profiles = {}) {
  const jobs = [job('R', 'split', [input('in'), ...range(n).map((i) => output(`r${i}`))])];
  for (const i of range(n)) {
    jobs.push(
      job(`W${i}`, 'work', [input(`r${i}`), output(`w${i}`, { stageOut: false })], {
        profiles: wProfiles,
      }),
    );
  }
  jobs.push(job('Z', 'merge', [...range(n).map((i) => input(`w${i}`)), output('z')]));
  const tc = installedEverywhere(['split', 'work', 'merge'], ['hpc']);
  tc.transformations[1]!.profiles = trProfiles;
  return loaded(workflow(jobs), {
    transformations: tc,
    replicas: [replica('in', [['/in', 'local']])],
  });
}
function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}
function clusters(p: Plan): PlannedJob[] {
  return p.jobs.filter((j) => j.kind === 'cluster');
}

describe('horizontal clustering', () => {
  test('by pegasus.clusters.size: chunks of that size; a chunk of one stays a job', () => {
    const p = plan(fan(5, { pegasus: { 'clusters.size': '2' } }), opts);
    expect(clusters(p).map((c) => [c.id, c.covers])).toEqual([
      ['merge_work_hpc_1_1', ['W1', 'W2']],
      ['merge_work_hpc_1_2', ['W3', 'W4']],
    ]);
    expect(p.jobs.some((j) => j.id === 'W5' && j.kind === 'compute')).toBe(true);
    // edges to and from members are redirected to the cluster
    const z = p.jobs.find((j) => j.id === 'Z')!;
    expect([...z.parents].sort()).toEqual(['W5', 'merge_work_hpc_1_1', 'merge_work_hpc_1_2']);
    expect(clusters(p)[0]!.parents).toEqual(['R']);
    expect(summarize(p).sites).toEqual({ hpc: 7 });
  });

  test('by pegasus.clusters.num (from the transformation): that many near-equal clusters', () => {
    const p = plan(fan(5, {}, { pegasus: { 'clusters.num': '2' } }), opts);
    expect(clusters(p).map((c) => c.covers)).toEqual([
      ['W1', 'W2', 'W3'],
      ['W4', 'W5'],
    ]);
    expect(p.reasons.find((r) => r.decision === 'cluster')!.message).toBe(
      '3 work jobs at level 1 on hpc run as one cluster (pegasus.clusters.num=2): W1, W2, W3',
    );
  });

  test('jobs without cluster profiles are not clustered; --cluster off ignores profiles', () => {
    expect(clusters(plan(fan(4, {}), opts))).toEqual([]);
    const off = defaultPlanOptions({ storeRoot: 'file:///s/' });
    expect(clusters(plan(fan(4, { pegasus: { 'clusters.size': '2' } }), off))).toEqual([]);
  });

  test('cluster resources: max cores/memory, summed runtime; members are full specs', () => {
    const l = fan(2, { pegasus: { 'clusters.size': '2', runtime: '30' } });
    l.workflow.jobs[2]!.profiles = {
      pegasus: { 'clusters.size': '2', runtime: '45', cores: '4', memory: '100' },
    };
    const [c] = clusters(plan(l, opts));
    expect(c!.resources).toEqual({ cores: 4, memoryMb: 100, diskMb: 0, runtimeSec: 75, gpus: 0 });
    expect(c!.members!.map((m) => [m.id, m.kind, m.executable!.pfn])).toEqual([
      ['W1', 'compute', '/bin/work'],
      ['W2', 'compute', '/bin/work'],
    ]);
    expect(c!.members![0]!.inputs).toEqual([{ lfn: 'r1', url: 'file:///s/hpc/r1' }]);
  });

  test('stage-out, register and cleanup attach to the cluster', () => {
    const l = fan(2, { pegasus: { 'clusters.size': '2' } });
    for (const j of l.workflow.jobs) for (const u of j.uses) u.stageOut = u.link === 'output';
    const p = plan(l, opts);
    const [c] = clusters(p);
    const so = p.jobs.find((j) => j.id === `stage_out_${c!.id}`)!;
    expect(so.parents).toEqual([c!.id]);
    expect(so.transfers!.map((t) => t.lfn)).toEqual(['w1', 'w2']);
    expect(p.jobs.find((j) => j.id === `register_${c!.id}`)!.parents).toEqual([so.id]);
    const cleanR1 = p.jobs.find(
      (j) => j.kind === 'cleanup' && j.deletes!.some((d) => d.lfn === 'r1'),
    )!;
    expect(cleanR1.parents).toContain(c!.id);
    expect(cleanR1.parents).not.toContain('W1');
  });
});

describe('label clustering', () => {
  const labelOpts = defaultPlanOptions({ storeRoot: 'file:///s/', cluster: ['label'] });

  test('jobs with the same pegasus.label (or nodeLabel) on one site form one cluster', () => {
    const wf = workflow([
      job('A', 't', [output('a')], { profiles: { pegasus: { label: 'chain' } } }),
      job('B', 't', [input('a'), output('b')], { nodeLabel: 'chain' }),
      job('C', 't', [input('b'), output('c')]),
    ]);
    const p = plan(loaded(wf, { transformations: installedEverywhere(['t'], ['hpc']) }), labelOpts);
    const [c] = clusters(p);
    expect(c!.id).toBe('label_chain_hpc');
    expect(c!.covers).toEqual(['A', 'B']);
    expect(c!.members!.map((m) => [m.id, m.parents])).toEqual([
      ['A', []],
      ['B', ['A']],
    ]);
    expect(p.jobs.find((j) => j.id === 'C')!.parents).toEqual([c!.id]);
  });

  test('a label cluster that would create a cycle is refused', () => {
    const wf = workflow([
      job('A', 't', [output('a')], { profiles: { pegasus: { label: 'L' } } }),
      job('X', 't', [input('a'), output('x')]),
      job('B', 't', [input('x'), output('b')], { profiles: { pegasus: { label: 'L' } } }),
    ]);
    let caught: unknown;
    try {
      plan(loaded(wf, { transformations: installedEverywhere(['t'], ['hpc']) }), labelOpts);
    } catch (e) {
      caught = e;
    }
    expect(isAloftError(caught)).toBe(true);
    const problems = isAloftError(caught) ? caught.problems : [];
    expect(problems).toHaveLength(1);
    expect(problems[0]!.where).toBe('workflow.yml: job A');
    expect(problems[0]!.message).toBe(
      'clustering [label L on hpc] (A, B) would create a cycle: [label L on hpc] -> X -> [label L on hpc]',
    );
  });
});

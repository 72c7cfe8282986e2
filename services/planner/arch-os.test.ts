/**
 * The planner fills a compute job's executable arch / os from the transformation catalog
 * entry it chose for the job's site, and the broker keeps the job off agents of another
 * platform (and says so for an idle job).
 */
import { describe, expect, test } from 'vitest';
import { job, loaded, transformation, tsite, workflow } from '../../test/helpers/planner-model.js';
import type { AgentAd } from '../../proto/index.js';
import { explainIdle, match, NO_USE, type AgentView } from '../broker/index.js';
import { defaultPlanOptions, plan, type PlannedJob } from './index.js';

const opts = (sites: string[] = []) => defaultPlanOptions({ storeRoot: 'file:///stores/', sites });

function compute(p: ReturnType<typeof plan>, id: string): PlannedJob {
  const j = p.jobs.find((x) => x.id === id && x.kind === 'compute');
  if (!j) throw new Error(`no compute job ${id}`);
  return j;
}

function agent(id: string, arch: string, os = 'linux'): AgentView {
  const ad: AgentAd = {
    agent: id,
    site: 'condorpool',
    sites: [],
    host: id,
    slots: 2,
    cores: 4,
    memoryMb: 4096,
    diskFreeMb: 10_000,
    executors: ['process'],
    labels: {},
    arch,
    os,
  };
  return { ad, state: 'ready', slotsInUse: 0, inUse: { ...NO_USE }, heartbeatAgeMs: 0 };
}

describe('planner: executable arch / os from the transformation catalog', () => {
  const wf = workflow([job('A', 'sim'), job('B', 'post')]);
  const tc = {
    containers: [],
    transformations: [
      transformation('sim', [
        tsite('condorpool', { pfn: '/opt/sim', arch: 'aarch64', osType: 'linux' }),
      ]),
      transformation('post', [tsite('condorpool', { pfn: '/opt/post' })]),
    ],
  };
  const p = plan(loaded(wf, { transformations: tc }), opts());

  test('the chosen entry’s arch and os.type become the executable’s', () => {
    expect(compute(p, 'A').executable).toEqual({
      name: 'sim',
      pfn: '/opt/sim',
      type: 'installed',
      arch: 'aarch64',
      os: 'linux',
    });
  });

  test('an entry without a platform leaves the executable without one', () => {
    const exe = compute(p, 'B').executable!;
    expect(exe.arch).toBeUndefined();
    expect(exe.os).toBeUndefined();
  });

  test('per site: each site’s entry gives its own platform', () => {
    const two = {
      containers: [],
      transformations: [
        transformation('sim', [
          tsite('arm', { pfn: '/opt/sim', arch: 'aarch64' }),
          tsite('intel', { pfn: '/opt/sim', arch: 'x86_64', osType: 'linux' }),
        ]),
      ],
    };
    const w = workflow([job('A', 'sim')]);
    const onArm = compute(plan(loaded(w, { transformations: two }), opts(['arm'])), 'A');
    expect(onArm.site).toBe('arm');
    expect(onArm.executable).toMatchObject({ arch: 'aarch64' });
    expect(onArm.executable?.os).toBeUndefined();
    const onIntel = compute(plan(loaded(w, { transformations: two }), opts(['intel'])), 'A');
    expect(onIntel.executable).toMatchObject({ arch: 'x86_64', os: 'linux' });
  });

  test('a stageable entry staged to another site carries its platform along', () => {
    const staged = {
      containers: [],
      transformations: [
        transformation('sim', [
          tsite('local', { pfn: '/opt/sim-ppc', type: 'stageable', arch: 'ppc64le' }),
        ]),
      ],
    };
    const j = compute(
      plan(loaded(workflow([job('A', 'sim')]), { transformations: staged }), opts(['hpc'])),
      'A',
    );
    expect(j.site).toBe('hpc');
    expect(j.executable).toMatchObject({ type: 'stageable', arch: 'ppc64le' });
  });

  test('the broker keeps an aarch64 job off x86_64 agents and says why it idles', () => {
    const sim = compute(p, 'A');
    const intel = agent('intel-1', 'x64');
    const arm = agent('arm-1', 'arm64');
    expect(match({ jobs: [sim], agents: [intel, arm] }).assignments).toEqual([
      { job: sim, agent: 'arm-1' },
    ]);
    const alone = match({ jobs: [sim], agents: [intel] });
    expect(alone.assignments).toEqual([]);
    const why = explainIdle(sim, [intel]);
    expect(why.summary).toBe('needs arch aarch64; no agent has it (1 agent is x86_64)');
    expect(why.clauses).toContainEqual({ requirement: 'arch = aarch64', matching: 0 });
    // The job without a platform runs on either.
    expect(match({ jobs: [compute(p, 'B')], agents: [intel] }).assignments).toHaveLength(1);
  });
});

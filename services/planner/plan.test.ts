import { describe, expect, test } from 'vitest';
import { isAloftError } from '../../lib/errors/index.js';
import type { LoadedWorkflow } from '../model/index.js';
import {
  diamond,
  input,
  installedEverywhere,
  job,
  loaded,
  output,
  replica,
  site,
  transformation,
  tsite,
  workflow,
} from '../../test/helpers/planner-model.js';
import {
  defaultPlanOptions,
  plan,
  summarize,
  type Plan,
  type PlanOptions,
  type PlannedJob,
} from './index.js';

const ROOT = 'file:///stores/';
const opts = (o: Partial<PlanOptions> = {}): PlanOptions =>
  defaultPlanOptions({ storeRoot: ROOT, ...o });

function byId(p: Plan): Map<string, PlannedJob> {
  return new Map(p.jobs.map((j) => [j.id, j]));
}
function get(p: Plan, id: string): PlannedJob {
  const j = byId(p).get(id);
  if (!j) throw new Error(`no job ${id} in plan: ${p.jobs.map((x) => x.id).join(', ')}`);
  return j;
}
function ofKind(p: Plan, kind: PlannedJob['kind']): PlannedJob[] {
  return p.jobs.filter((j) => j.kind === kind);
}
function planError(l: LoadedWorkflow, o: PlanOptions): string[] {
  try {
    plan(l, o);
  } catch (e) {
    if (isAloftError(e)) return e.problems.map((p) => `${p.where}: ${p.message}`);
    throw e;
  }
  throw new Error('plan did not fail');
}
/** Every job's parents appear before it: the order is topological. */
function expectTopological(p: Plan): void {
  const seen = new Set<string>();
  for (const j of p.jobs) {
    for (const parent of j.parents) expect(seen.has(parent), `${parent} before ${j.id}`).toBe(true);
    seen.add(j.id);
  }
}

describe('plan: the black diamond on one site', () => {
  const p = plan(diamond(), opts());

  test('counts by kind', () => {
    expect(summarize(p)).toEqual({
      jobs: 4,
      planned: {
        compute: 4,
        stage_in: 1,
        stage_out: 4,
        inter_site: 0,
        register: 4,
        cleanup: 6,
        cluster: 0,
      },
      skipped: 0,
      sites: { condorpool: 4 },
    });
    expectTopological(p);
  });

  test('compute jobs carry urls in the site store and their parents', () => {
    const id4 = get(p, 'ID4');
    expect(id4.site).toBe('condorpool');
    expect(id4.parents).toEqual(['ID2', 'ID3']);
    expect(id4.inputs).toEqual([
      { lfn: 'f.c1', url: `${ROOT}condorpool/f.c1` },
      { lfn: 'f.c2', url: `${ROOT}condorpool/f.c2` },
    ]);
    expect(id4.outputs).toEqual([{ lfn: 'f.d', url: `${ROOT}condorpool/f.d` }]);
    expect(id4.executable).toEqual({ name: 'analyze', pfn: '/bin/analyze', type: 'installed' });
    expect(p.stores).toEqual({ condorpool: `${ROOT}condorpool/` });
    expect(p.outputStore).toBe(`${ROOT}output/`);
  });

  test('stage_in of the replica, stage_out and register per compute job', () => {
    const [si] = ofKind(p, 'stage_in');
    expect(si!.transfers).toEqual([
      {
        lfn: 'f.a',
        sources: [{ url: 'file:///data/f.a', site: 'local' }],
        dest: { url: `${ROOT}condorpool/f.a`, site: 'condorpool' },
      },
    ]);
    expect(get(p, 'ID1').parents).toEqual([si!.id]);
    const so = get(p, 'stage_out_ID1');
    expect(so.parents).toEqual(['ID1']);
    expect(so.transfers!.map((t) => [t.lfn, t.sources[0]!.url, t.dest.url])).toEqual([
      ['f.b1', `${ROOT}condorpool/f.b1`, `${ROOT}output/f.b1`],
      ['f.b2', `${ROOT}condorpool/f.b2`, `${ROOT}output/f.b2`],
    ]);
    const reg = get(p, 'register_ID1');
    expect(reg.parents).toEqual(['stage_out_ID1']);
    expect(reg.registrations).toEqual([
      { lfn: 'f.b1', pfn: `${ROOT}output/f.b1`, site: 'local' },
      { lfn: 'f.b2', pfn: `${ROOT}output/f.b2`, site: 'local' },
    ]);
  });

  test('inplace cleanup deletes each file after all its readers', () => {
    const deletedAfter = new Map<string, string[]>();
    for (const c of ofKind(p, 'cleanup')) {
      for (const d of c.deletes!) deletedAfter.set(d.lfn, [...c.parents].sort());
      expect(c.deletes!.every((d) => d.url.startsWith(`${ROOT}condorpool/`))).toBe(true);
    }
    expect(Object.fromEntries(deletedAfter)).toEqual({
      'f.a': ['ID1'],
      'f.b1': ['ID2', 'stage_out_ID1'],
      'f.b2': ['ID3', 'stage_out_ID1'],
      'f.c1': ['ID4', 'stage_out_ID2'],
      'f.c2': ['ID4', 'stage_out_ID3'],
      'f.d': ['stage_out_ID4'],
    });
  });
});

describe('data reuse', () => {
  test('a job whose outputs exist is skipped, with cascade to ancestors it alone needed', () => {
    // f.c1/f.c2 exist; ID2/ID3 pruned. f.b1/f.b2 are not staged out, so ID1 is pruned too.
    const l = diamond({ stageOut: false });
    l.workflow.jobs[3]!.uses.find((u) => u.lfn === 'f.d')!.stageOut = true;
    l.replicas.replicas.push(replica('f.c1', [['/old/f.c1', 'local']]));
    const p = plan(l, opts({ reuse: true, available: ['f.c2'] }));
    expect(p.skipped).toEqual(['ID1', 'ID2', 'ID3']);
    expect(p.jobs.filter((j) => j.kind === 'compute').map((j) => j.id)).toEqual(['ID4']);
    const id4 = get(p, 'ID4');
    expect(id4.parents).toHaveLength(1);
    const si = get(p, id4.parents[0]!);
    expect(si.kind).toBe('stage_in');
    expect(si.transfers!.map((t) => [t.lfn, t.sources])).toEqual([
      ['f.c1', [{ url: 'file:///old/f.c1', site: 'local' }]],
      ['f.c2', [{ url: `${ROOT}output/f.c2`, site: 'local' }]],
    ]);
    const reasons = p.reasons.filter((r) => r.decision === 'skip');
    expect(reasons).toEqual([
      { subject: 'ID2', decision: 'skip', message: 'outputs f.c1 already exist (replica catalog)' },
      { subject: 'ID3', decision: 'skip', message: 'outputs f.c2 already exist (output store)' },
      {
        subject: 'ID1',
        decision: 'skip',
        message: expect.stringMatching(/^not needed: every child \(ID2, ID3\) is skipped/),
      },
    ]);
  });

  test('no cascade past a parent whose outputs must still be staged out', () => {
    const l = diamond(); // every output staged out
    l.replicas.replicas.push(
      replica('f.c1', [['/old/f.c1', 'local']]),
      replica('f.c2', [['/old/f.c2', 'local']]),
    );
    const p = plan(l, opts({ reuse: true }));
    expect(p.skipped).toEqual(['ID2', 'ID3']);
    expect(summarize(p).planned.compute).toBe(2);
  });

  test('--force plans everything; reuse off ignores existing outputs', () => {
    const l = diamond();
    l.replicas.replicas.push(replica('f.d', [['/old/f.d', 'local']]));
    expect(plan(l, opts({ reuse: true, force: true })).skipped).toEqual([]);
    expect(plan(l, opts({ reuse: false })).skipped).toEqual([]);
    expect(plan(l, opts({ reuse: true })).skipped).toEqual(['ID4']);
  });
});

describe('site selection', () => {
  const twoSites = (): LoadedWorkflow => diamond({ sites: ['a', 'b'] });

  test('random with a seed is deterministic, and different seeds can differ', () => {
    const sitesOf = (seed: number): string[] =>
      plan(twoSites(), opts({ seed }))
        .jobs.filter((j) => j.kind === 'compute')
        .map((j) => j.site);
    expect(sitesOf(7)).toEqual(sitesOf(7));
    const variants = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((s) => sitesOf(s).join()));
    expect(variants.size).toBeGreaterThan(1);
  });

  test('round-robin cycles through the candidates', () => {
    const p = plan(twoSites(), opts({ siteSelector: 'round-robin' }));
    expect(['ID1', 'ID2', 'ID3', 'ID4'].map((id) => get(p, id).site)).toEqual(['a', 'b', 'a', 'b']);
    expect(p.reasons.find((r) => r.subject === 'ID2' && r.decision === 'site')!.message).toBe(
      'placed on b (round-robin): transformation findrange installed there; candidates [a, b]',
    );
  });

  test('--sites restricts candidates; a job with no allowed site is a Problem', () => {
    const p = plan(twoSites(), opts({ sites: ['b'] }));
    expect(new Set(p.jobs.filter((j) => j.kind === 'compute').map((j) => j.site))).toEqual(
      new Set(['b']),
    );
    const problems = planError(twoSites(), opts({ sites: ['c'] }));
    expect(problems).toContain(
      'workflow.yml: job ID1: no site can run job ID1: transformation preprocess is installed on sites [a, b], --sites allows [c]',
    );
    expect(problems).toHaveLength(4); // one per job
  });

  test('a stageable transformation may run on any --sites site, its executable staged', () => {
    const l = diamond();
    l.transformations.transformations = ['preprocess', 'findrange', 'analyze'].map((n) =>
      transformation(n, [tsite('local', { type: 'stageable', pfn: `/opt/${n}` })]),
    );
    const p = plan(l, opts({ sites: ['hpc'] }));
    const id1 = get(p, 'ID1');
    expect(id1.site).toBe('hpc');
    expect(id1.executable).toMatchObject({ type: 'stageable', pfn: 'file:///opt/preprocess' });
    expect(p.reasons.find((r) => r.subject === 'ID1')!.message).toBe(
      'placed on hpc: executable of preprocess staged from [local]; candidates [hpc]',
    );
  });

  test('pins by selector.execution.site or hints.execution.site; impossible pins fail', () => {
    const p = plan(
      diamond({
        sites: ['a', 'b'],
        profiles: {
          ID1: { selector: { 'execution.site': 'b' } },
          ID2: { hints: { 'execution.site': 'a' } },
        },
      }),
      opts({ sites: ['a'] }),
    );
    expect(get(p, 'ID1').site).toBe('b');
    expect(get(p, 'ID2').site).toBe('a');
    expect(p.reasons.find((r) => r.subject === 'ID1')!.message).toMatch(
      /^placed on b \(outside --sites\): pinned by selector.execution.site \(job profile\)/,
    );
    const problems = planError(
      diamond({ sites: ['a', 'b'], profiles: { ID3: { hints: { 'execution.site': 'z' } } } }),
      opts(),
    );
    expect(problems).toEqual([
      'workflow.yml: job ID3: job ID3 is pinned to site z by hints.execution.site (job profile), but transformation findrange is installed only on [a, b] and is not stageable',
    ]);
  });
});

describe('staging', () => {
  test('inter-site: one transfer per (lfn, destination), shared by consumers there', () => {
    const l = diamond({ sites: ['a', 'b'] });
    // ID1 on a; both findranges and analyze on b.
    for (const j of l.workflow.jobs) {
      j.profiles = { selector: { 'execution.site': j.id === 'ID1' ? 'a' : 'b' } };
    }
    // a second consumer of f.b1 on b
    l.workflow.jobs.push(job('ID5', 'findrange', [input('f.b1'), output('f.e')]));
    l.workflow.jobs[4]!.profiles = { selector: { 'execution.site': 'b' } };
    const p = plan(l, opts());
    const inter = ofKind(p, 'inter_site');
    expect(inter.map((j) => j.transfers![0]!.lfn).sort()).toEqual(['f.b1', 'f.b2']);
    const b1 = inter.find((j) => j.transfers![0]!.lfn === 'f.b1')!;
    expect(b1.site).toBe('b');
    expect(b1.parents).toEqual(['ID1']);
    expect(b1.transfers![0]).toEqual({
      lfn: 'f.b1',
      sources: [{ url: `${ROOT}a/f.b1`, site: 'a' }],
      dest: { url: `${ROOT}b/f.b1`, site: 'b' },
    });
    expect(get(p, 'ID2').parents).toContain(b1.id);
    expect(get(p, 'ID5').parents).toContain(b1.id);
    expect(get(p, 'ID2').inputs).toEqual([{ lfn: 'f.b1', url: `${ROOT}b/f.b1` }]);
    // f.c1 is produced and consumed on b: no transfer
    expect(inter.some((j) => j.transfers![0]!.lfn === 'f.c1')).toBe(false);
    // f.b1 in a's store is deleted only after the inter-site copy (and its stage-out) ran
    const cleanB1 = ofKind(p, 'cleanup').find((c) =>
      c.deletes!.some((d) => d.url === `${ROOT}a/f.b1`),
    )!;
    expect(cleanB1.parents).toContain(b1.id);
    expect(cleanB1.parents).toContain('stage_out_ID1');
    expect(cleanB1.site).toBe('a');
    expectTopological(p);
  });

  test('replica sources ordered same site, then local, then others; size and checksum kept', () => {
    const wf = workflow([job('A', 't', [input('in.dat', { size: 42 }), output('o')])]);
    const l = loaded(wf, {
      transformations: installedEverywhere(['t'], ['hpc']),
      replicas: [
        replica(
          'in.dat',
          [
            ['s3://far/in.dat', 'cloud'],
            ['/data/in.dat', 'local'],
            ['gsiftp://hpc/in.dat', 'hpc'],
          ],
          { checksum: { type: 'sha256', value: 'ab'.repeat(32) } },
        ),
      ],
    });
    const p = plan(l, opts());
    const [si] = ofKind(p, 'stage_in');
    expect(si!.transfers).toEqual([
      {
        lfn: 'in.dat',
        sources: [
          { url: 'gsiftp://hpc/in.dat', site: 'hpc' },
          { url: 'file:///data/in.dat', site: 'local' },
          { url: 's3://far/in.dat', site: 'cloud' },
        ],
        dest: { url: `${ROOT}hpc/in.dat`, site: 'hpc' },
        size: 42,
        checksum: { type: 'sha256', value: 'ab'.repeat(32) },
      },
    ]);
    expect(get(p, 'A').inputs![0]).toMatchObject({ lfn: 'in.dat', size: 42 });
  });

  test('regex replicas expand [0] and groups for the lfn', () => {
    const wf = workflow([job('A', 't', [input('run_12.dat'), output('o')])]);
    const l = loaded(wf, {
      transformations: installedEverywhere(['t'], ['hpc']),
      replicas: [replica('run_([0-9]+)\\.dat', [['http://h/[1]/[0]', 'local']], { regex: true })],
    });
    const [si] = ofKind(plan(l, opts()), 'stage_in');
    expect(si!.transfers![0]!.sources).toEqual([{ url: 'http://h/12/run_12.dat', site: 'local' }]);
  });

  test('each (lfn, site) is staged once; stage_in jobs hold at most 10 files, grouped by level', () => {
    const jobs = [];
    for (let i = 0; i < 25; i++)
      jobs.push(job(`A${i}`, 't', [input(`in${i}`), input('common'), output(`a${i}`)]));
    jobs.push(job('B', 't', [input('a0'), input('late'), output('b')]));
    const l = loaded(workflow(jobs), {
      transformations: installedEverywhere(['t'], ['hpc']),
      replicas: [
        ...Array.from({ length: 25 }, (_, i) => replica(`in${i}`, [[`/d/in${i}`, 'local']])),
        replica('common', [['/d/common', 'local']]),
        replica('late', [['/d/late', 'local']]),
      ],
    });
    const p = plan(l, opts());
    const si = ofKind(p, 'stage_in');
    expect(si.map((j) => [j.id, j.transfers!.length])).toEqual([
      ['stage_in_hpc_0_0', 10],
      ['stage_in_hpc_0_1', 10],
      ['stage_in_hpc_0_2', 6],
      ['stage_in_hpc_1_0', 1],
    ]);
    const lfns = si.flatMap((j) => j.transfers!.map((t) => t.lfn));
    expect(new Set(lfns).size).toBe(lfns.length);
    expect(si[0]!.transfers!.map((t) => t.lfn).slice(0, 3)).toEqual(['in0', 'common', 'in1']);
    // A0..A24 all depend on the stage_in holding 'common'
    expect(get(p, 'A24').parents).toContain('stage_in_hpc_0_0');
    expect(get(p, 'B').parents.sort()).toEqual(['A0', 'stage_in_hpc_1_0']);
  });

  test('bypass: file use flag, and transformation bypass for file:/http replicas', () => {
    const wf = workflow([
      job('A', 't', [input('x', { bypass: true }), output('o1')]),
      job('B', 'u', [input('web'), input('far'), output('o2')]),
    ]);
    const tc = installedEverywhere(['t'], ['hpc']);
    tc.transformations.push(transformation('u', [tsite('hpc', { bypass: true })]));
    const l = loaded(wf, {
      transformations: tc,
      replicas: [
        replica('x', [['s3://b/x', 'cloud']]),
        replica('web', [['https://example.org/web', 'cloud']]),
        replica('far', [['/nfs/far', 'local']]),
      ],
    });
    const p = plan(l, opts());
    expect(get(p, 'A').inputs).toEqual([{ lfn: 'x', url: 's3://b/x' }]);
    expect(get(p, 'B').inputs).toEqual([
      { lfn: 'web', url: 'https://example.org/web' },
      { lfn: 'far', url: `${ROOT}hpc/far` },
    ]);
    const staged = ofKind(p, 'stage_in').flatMap((j) => j.transfers!.map((t) => t.lfn));
    expect(staged).toEqual(['far']);
    const stageReasons = p.reasons.filter((r) => r.decision === 'stage').map((r) => r.message);
    expect(stageReasons).toContain(
      'job A reads x in place from s3://b/x (bypass set on the file use); no stage-in',
    );
    // bypassed locations are never cleaned up
    const deleted = ofKind(p, 'cleanup').flatMap((c) => c.deletes!.map((d) => d.url));
    expect(deleted.some((u) => u.includes('example.org') || u.startsWith('s3://'))).toBe(false);
  });

  test('outputs without stageOut get no stage_out; registerReplica without stageOut no register', () => {
    const wf = workflow([
      job('A', 't', [
        output('keep', { stageOut: true, registerReplica: false }),
        output('tmp', { stageOut: false, registerReplica: true }),
      ]),
      job('B', 't', [input('tmp'), output('final', { stageOut: true, registerReplica: true })]),
    ]);
    const p = plan(loaded(wf, { transformations: installedEverywhere(['t'], ['hpc']) }), opts());
    expect(get(p, 'stage_out_A').transfers!.map((t) => t.lfn)).toEqual(['keep']);
    expect(byId(p).has('register_A')).toBe(false);
    expect(get(p, 'register_B').registrations).toEqual([
      { lfn: 'final', pfn: `${ROOT}output/final`, site: 'local' },
    ]);
  });

  test('site catalog stores: sharedScratch file servers (put writes, get reads), output site localStorage', () => {
    const l = diamond({ sites: ['hpc'] });
    l.sites.sites = [
      site('hpc', {
        directories: [
          {
            type: 'sharedScratch',
            path: '/scratch',
            sharedFileSystem: false,
            fileServers: [
              { url: 'http://hpc/scratch', operation: 'get' },
              { url: 's3://hpc-scratch/run', operation: 'put' },
            ],
          },
        ],
      }),
      site('local', {
        directories: [
          {
            type: 'localStorage',
            path: '/out',
            sharedFileSystem: false,
            fileServers: [{ url: '/srv/outputs', operation: 'all' }],
          },
        ],
      }),
    ];
    const p = plan(l, opts());
    expect(p.stores).toEqual({ hpc: 's3://hpc-scratch/run/' });
    expect(p.outputStore).toBe('file:///srv/outputs/');
    // Pegasus' operations: stage-in writes through the put server, jobs read through get.
    expect(ofKind(p, 'stage_in')[0]!.transfers![0]!.dest.url).toBe('s3://hpc-scratch/run/f.a');
    expect(get(p, 'ID1').inputs![0]!.url).toBe('http://hpc/scratch/f.a');
    expect(get(p, 'ID1').outputs![0]!.url).toBe('s3://hpc-scratch/run/f.b1');
    expect(get(p, 'stage_out_ID1').transfers![0]!.sources[0]!.url).toBe('http://hpc/scratch/f.b1');
    for (const c of ofKind(p, 'cleanup')) {
      for (const d of c.deletes!) expect(d.url).toBe(`s3://hpc-scratch/run/${d.lfn}`);
    }
    expect(plan(l, opts({ outputUrl: 's3://results' })).outputStore).toBe('s3://results/');
  });
});

describe('staging: special locations', () => {
  test('a replica already at the store location is neither staged nor cleaned up', () => {
    const wf = workflow([
      job('A', 't', [input('ref'), output('x', { stageOut: false })]),
      job('B', 't', [input('ref'), input('x'), output('y')]),
    ]);
    const l = loaded(wf, {
      transformations: installedEverywhere(['t'], ['hpc']),
      replicas: [replica('ref', [[`${ROOT}hpc/ref`, 'hpc']])],
    });
    const p = plan(l, opts());
    expect(ofKind(p, 'stage_in')).toEqual([]);
    expect(get(p, 'A').inputs).toEqual([{ lfn: 'ref', url: `${ROOT}hpc/ref` }]);
    const deleted = ofKind(p, 'cleanup').flatMap((c) => c.deletes!.map((d) => d.lfn));
    expect(deleted.sort()).toEqual(['x', 'y']);
    expect(p.reasons).toContainEqual({
      subject: 'ref',
      decision: 'stage',
      message: `already in the hpc store at ${ROOT}hpc/ref; not staged, never cleaned up`,
    });
  });

  test('sites sharing one store URL need no inter-site transfer', () => {
    const l = diamond({ sites: ['a', 'b'] });
    for (const j of l.workflow.jobs) {
      j.profiles = { selector: { 'execution.site': j.id === 'ID1' ? 'a' : 'b' } };
    }
    const shared = {
      type: 'sharedScratch' as const,
      path: '/shared',
      sharedFileSystem: true,
      fileServers: [{ url: 'file:///shared', operation: 'all' as const }],
    };
    l.sites.sites = [site('a', { directories: [shared] }), site('b', { directories: [shared] })];
    const p = plan(l, opts());
    expect(ofKind(p, 'inter_site')).toEqual([]);
    expect(p.stores).toEqual({ a: 'file:///shared/', b: 'file:///shared/' });
    expect(get(p, 'ID2').inputs).toEqual([{ lfn: 'f.b1', url: 'file:///shared/f.b1' }]);
  });

  test('stdin is an input and stdout/stderr are outputs (staged out and registered)', () => {
    const wf = workflow([
      job('A', 't', [], { stdin: 'in.txt', stdout: 'out.txt', stderr: 'err.txt' }),
    ]);
    const l = loaded(wf, {
      transformations: installedEverywhere(['t'], ['hpc']),
      replicas: [replica('in.txt', [['/d/in.txt', 'local']])],
    });
    const p = plan(l, opts());
    const a = get(p, 'A');
    expect(a).toMatchObject({ stdin: 'in.txt', stdout: 'out.txt', stderr: 'err.txt' });
    expect(a.inputs!.map((f) => f.lfn)).toEqual(['in.txt']);
    expect(a.outputs!.map((f) => f.lfn)).toEqual(['out.txt', 'err.txt']);
    expect(get(p, 'stage_out_A').transfers!.map((t) => t.lfn)).toEqual(['out.txt', 'err.txt']);
    expect(get(p, 'register_A').registrations!.map((r) => r.lfn)).toEqual(['out.txt', 'err.txt']);
  });
});

describe('reasons', () => {
  test('kept per decision up to a cap, the rest summarised', () => {
    const jobs = Array.from({ length: 1500 }, (_, i) => job(`J${i}`, 't', [output(`o${i}`)]));
    const p = plan(
      loaded(workflow(jobs), { transformations: installedEverywhere(['t'], ['hpc']) }),
      opts(),
    );
    const site = p.reasons.filter((r) => r.decision === 'site');
    expect(site).toHaveLength(1001);
    expect(site[1000]).toEqual({
      subject: '*',
      decision: 'site',
      message: '500 more site decisions like the above are not listed (1000 kept)',
    });
  });
});

describe('cleanup', () => {
  test('never deletes from the output store; keeps unstaged workflow outputs', () => {
    const wf = workflow([
      job('A', 't', [output('mid', { stageOut: false })]),
      job('B', 't', [input('mid'), output('leaf', { stageOut: false, registerReplica: false })]),
    ]);
    const l = loaded(wf, { transformations: installedEverywhere(['t'], ['hpc']) });
    const p = plan(l, opts());
    const deleted = ofKind(p, 'cleanup').flatMap((c) => c.deletes!.map((d) => d.lfn));
    expect(deleted).toEqual(['mid']);
    expect(p.reasons).toContainEqual({
      subject: 'leaf',
      decision: 'cleanup',
      message:
        'kept in the hpc store: a workflow output that is not staged out (stageOut: false), deleting it would lose it',
    });
    // a site whose store is the output store is never cleaned
    const same = plan(l, opts({ outputUrl: `${ROOT}hpc/` }));
    expect(ofKind(same, 'cleanup')).toEqual([]);
  });

  test('files with the same last readers share one cleanup job', () => {
    const wf = workflow([
      job('A', 't', [output('x1', { stageOut: false }), output('x2', { stageOut: false })]),
      job('B', 't', [input('x1'), input('x2'), output('y')]),
    ]);
    const p = plan(loaded(wf, { transformations: installedEverywhere(['t'], ['hpc']) }), opts());
    const cleanups = ofKind(p, 'cleanup');
    expect(cleanups.map((c) => [c.parents, c.deletes!.map((d) => d.lfn)])).toEqual([
      [['B'], ['x1', 'x2']],
      [['stage_out_B'], ['y']],
    ]);
  });

  test('cleanup priority is the highest of its parents', () => {
    const p = plan(diamond(), opts());
    for (const c of ofKind(p, 'cleanup')) {
      const max = Math.max(...c.parents.map((id) => get(p, id).priority));
      expect(c.priority).toBe(max);
    }
  });

  test('leaf: cleanup after every job using the store; none: no cleanup', () => {
    const p = plan(diamond(), opts({ cleanup: 'leaf' }));
    const cleanups = ofKind(p, 'cleanup');
    expect(cleanups).toHaveLength(1);
    expect(cleanups[0]!.deletes!.map((d) => d.lfn).sort()).toEqual([
      'f.a',
      'f.b1',
      'f.b2',
      'f.c1',
      'f.c2',
      'f.d',
    ]);
    // the last users: ID4's stage-out and the other stage-outs (ID4 itself has a child)
    expect([...cleanups[0]!.parents].sort()).toEqual([
      'stage_out_ID1',
      'stage_out_ID2',
      'stage_out_ID3',
      'stage_out_ID4',
    ]);
    expect(ofKind(plan(diamond(), opts({ cleanup: 'none' })), 'cleanup')).toEqual([]);
  });
});

describe('priorities, resources, retries', () => {
  test('deeper jobs first: priority = level + dagman.priority; helpers inherit', () => {
    const p = plan(diamond({ profiles: { ID3: { dagman: { PRIORITY: '10' } } } }), opts());
    expect(['ID1', 'ID2', 'ID3', 'ID4'].map((id) => get(p, id).priority)).toEqual([0, 1, 11, 2]);
    expect(ofKind(p, 'stage_in')[0]!.priority).toBe(0);
    expect(get(p, 'stage_out_ID3').priority).toBe(11);
    expect(p.reasons).toContainEqual({
      subject: 'ID3',
      decision: 'priority',
      message: 'priority 11 = level 1 + 10 from the dagman/condor priority profile',
    });
  });

  test('profiles merge site < transformation < transformation-site < workflow < job', () => {
    const l = diamond();
    l.sites.sites = [
      site('condorpool', {
        profiles: { env: { A: 'site', B: 'site', C: 'site', D: 'site', E: 'site' } },
      }),
    ];
    const t = l.transformations.transformations[0]!; // preprocess
    t.profiles = { env: { B: 'tr', C: 'tr', D: 'tr', E: 'tr' } };
    t.sites[0]!.profiles = { env: { C: 'trsite', D: 'trsite', E: 'trsite' } };
    l.workflow.profiles = { env: { D: 'wf', E: 'wf' } };
    l.workflow.jobs[0]!.profiles = { env: { E: 'job' } };
    const p = plan(l, opts());
    expect(get(p, 'ID1').env).toEqual({ A: 'site', B: 'tr', C: 'trsite', D: 'wf', E: 'job' });
    expect(get(p, 'ID2').env).toEqual({ A: 'site', B: 'site', C: 'site', D: 'wf', E: 'wf' });
  });

  test('resources from pegasus profiles, condor fallbacks, precedence, retries, category', () => {
    const l = diamond({
      profiles: {
        ID1: {
          pegasus: { cores: '4', memory: '2048', diskspace: '100', runtime: '60', gpus: '1' },
          condor: { request_cpus: '8' },
          dagman: { retry: '5', category: 'heavy' },
        },
        ID2: { condor: { request_cpus: '2', request_memory: '512', request_gpus: '2' } },
      },
    });
    l.transformations.transformations[2]!.profiles = { dagman: { RETRY: '0' } }; // analyze
    const p = plan(l, opts({ defaultRetries: 7 }));
    expect(get(p, 'ID1')).toMatchObject({
      resources: { cores: 4, memoryMb: 2048, diskMb: 100, runtimeSec: 60, gpus: 1 },
      retries: 5,
      category: 'heavy',
    });
    expect(get(p, 'ID2').resources).toEqual({
      cores: 2,
      memoryMb: 512,
      diskMb: 0,
      runtimeSec: 0,
      gpus: 2,
    });
    expect(get(p, 'ID3')).toMatchObject({
      resources: { cores: 1, memoryMb: 0 },
      retries: 7,
      category: undefined,
    });
    expect(get(p, 'ID4').retries).toBe(0);
  });

  test('invalid numbers in profiles are Problems naming the job and key', () => {
    const problems = planError(
      diamond({
        profiles: {
          ID1: { pegasus: { cores: 'two' } },
          ID2: { pegasus: { memory: '-5' } },
          ID3: { dagman: { retry: '1.5' } },
        },
      }),
      opts(),
    );
    expect(problems).toEqual([
      'workflow.yml: job ID1: profile pegasus.cores is "two", not an integer >= 1',
      'workflow.yml: job ID2: profile pegasus.memory is "-5", not a number >= 0',
      'workflow.yml: job ID3: profile dagman.retry is "1.5", not an integer >= 0',
    ]);
  });

  test('container and stageable executables come from the catalog', () => {
    const l = diamond();
    l.transformations.containers = [
      {
        name: 'c1',
        type: 'singularity',
        image: 'docker://busybox',
        mounts: ['/a:/b'],
        bypass: false,
        profiles: { env: { FROM: 'container' } },
        metadata: {},
      },
    ];
    l.transformations.transformations[0]!.sites[0]!.container = 'c1';
    l.transformations.transformations[1]!.sites[0]!.container = 'nope';
    expect(planError(l, opts())).toEqual([
      'workflow.yml: transformation findrange: transformation findrange on site condorpool names container nope, which the transformation catalog does not define',
    ]);
    l.transformations.transformations[1]!.sites[0]!.container = undefined;
    const p = plan(l, opts());
    expect(get(p, 'ID1').executable).toEqual({
      name: 'preprocess',
      pfn: '/bin/preprocess',
      type: 'installed',
      container: { name: 'c1', type: 'singularity', image: 'docker://busybox', mounts: ['/a:/b'] },
    });
    expect(get(p, 'ID1').env).toEqual({ FROM: 'container' });
  });
});

describe('determinism', () => {
  test('planning twice gives byte-identical JSON', () => {
    const o = opts({ siteSelector: 'random', seed: 42, cluster: ['horizontal'] });
    const a = JSON.stringify(plan(diamond({ sites: ['a', 'b', 'c'] }), o));
    const b = JSON.stringify(plan(diamond({ sites: ['a', 'b', 'c'] }), o));
    expect(a).toBe(b);
  });

  test('plan() does not modify its inputs', () => {
    const l = diamond({ sites: ['a', 'b'] });
    const before = JSON.stringify(l);
    const o = opts({ cluster: ['label'] });
    const optsBefore = JSON.stringify(o);
    plan(l, o);
    expect(JSON.stringify(l)).toBe(before);
    expect(JSON.stringify(o)).toBe(optsBefore);
  });
});

describe('sub-workflows', () => {
  test('a pegasusWorkflow job runs on local with the built-in executable', () => {
    const wf = workflow([
      job('A', 't', [output('inner.yml')]),
      job(
        'SUB',
        'inner',
        [input('inner.yml'), input('sites.yml', { forPlanning: true }), output('r')],
        {
          type: 'pegasusWorkflow',
          file: 'inner.yml',
          arguments: ['--basename', 'inner'],
        },
      ),
    ]);
    const p = plan(loaded(wf, { transformations: installedEverywhere(['t'], ['local']) }), opts());
    const sub = get(p, 'SUB');
    expect(sub).toMatchObject({
      site: 'local',
      executable: { name: 'inner', pfn: 'aloft:subworkflow', type: 'installed' },
      args: ['inner.yml', '--basename', 'inner'],
      parents: ['A'],
    });
    expect(sub.inputs!.map((i) => i.lfn)).toEqual(['inner.yml']);
  });
});

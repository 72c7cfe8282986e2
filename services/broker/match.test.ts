import { describe, expect, it } from 'vitest';
import { AloftError } from '../../lib/errors/index.js';
import type { AgentAd, PlannedFile, PlannedJob } from '../../proto/index.js';
import { CacheIndex, type AgentView } from './agent-view.js';
import { explainIdle, formatMb } from './explain.js';
import { match, type MatchSnapshot } from './match.js';
import { requirementsOf } from './requirements.js';

const MB = 1024 * 1024;

function job(id: string, over: Partial<PlannedJob> = {}): PlannedJob {
  return {
    id,
    kind: 'compute',
    site: 'edge-radar-1',
    parents: [],
    covers: [id],
    priority: 0,
    retries: 0,
    resources: { cores: 1, memoryMb: 0, diskMb: 0, runtimeSec: 0, gpus: 0 },
    executable: { name: 'tool', pfn: '/bin/true', type: 'installed' },
    ...over,
  };
}

const res = (over: Partial<PlannedJob['resources']>): PlannedJob['resources'] => ({
  cores: 1,
  memoryMb: 0,
  diskMb: 0,
  runtimeSec: 0,
  gpus: 0,
  ...over,
});

function agent(id: string, over: Partial<AgentAd> = {}, view: Partial<AgentView> = {}): AgentView {
  return {
    ad: {
      agent: id,
      site: 'edge-radar-1',
      sites: [],
      host: `${id}.local`,
      slots: 4,
      cores: 8,
      memoryMb: 16 * 1024,
      diskFreeMb: 100 * 1024,
      executors: ['process', 'synthetic', 'transfer', 'cleanup', 'cluster'],
      labels: {},
      arch: 'x64',
      os: 'linux',
      ...over,
    },
    state: 'ready',
    slotsInUse: 0,
    inUse: { cores: 0, memoryMb: 0, diskMb: 0, gpus: 0 },
    heartbeatAgeMs: 1000,
    ...view,
  };
}

const input = (lfn: string, size?: number): PlannedFile => ({
  lfn,
  url: `file:///store/edge-radar-1/${lfn}`,
  ...(size === undefined ? {} : { size }),
});

const placed = (s: MatchSnapshot): Record<string, string> =>
  Object.fromEntries(match(s).assignments.map((a) => [a.job.id, a.agent]));

describe('requirementsOf', () => {
  it('takes cores, memory, disk and gpus from the job resources', () => {
    const r = requirementsOf(
      job('j', { resources: res({ cores: 4, memoryMb: 2048, diskMb: 500, gpus: 2 }) }),
    );
    expect(r).toMatchObject({
      cores: 4,
      memoryMb: 2048,
      diskMb: 500,
      gpus: 2,
      site: 'edge-radar-1',
    });
  });

  it('derives disk from input and output sizes when diskspace is not given', () => {
    const j = job('j', {
      inputs: [input('a', 3 * MB), input('b', 2 * MB + 1)],
      outputs: [{ lfn: 'out', url: 'file:///o/out', size: 4 * MB }],
    });
    expect(requirementsOf(j).diskMb).toBe(10); // 9 MB + 1 byte, rounded up
    expect(requirementsOf({ ...j, resources: res({ diskMb: 2 }) }).diskMb).toBe(2);
    expect(
      requirementsOf(job('t', { kind: 'stage_in', inputs: [input('a', 50 * MB)] })).diskMb,
    ).toBe(0);
  });

  it('counts each file of a cluster once for disk, and asks for the members executors', () => {
    const m1 = job('m1', {
      inputs: [input('a', MB)],
      outputs: [{ lfn: 'b', url: 'u:b', size: MB }],
    });
    const m2 = job('m2', {
      inputs: [{ lfn: 'b', url: 'u:b', size: MB }],
      executable: { name: 's', pfn: 'aloft:synthetic', type: 'installed' },
    });
    const r = requirementsOf(
      job('c', { kind: 'cluster', members: [m1, m2], executable: undefined }),
    );
    expect(r.diskMb).toBe(2);
    expect(r.executors).toEqual(['cluster', 'process', 'synthetic']);
  });

  it('names the executor by kind, builtin and container', () => {
    const ex = (over: Partial<PlannedJob>): string[] => requirementsOf(job('j', over)).executors;
    expect(ex({})).toEqual(['process']);
    expect(ex({ executable: { name: 's', pfn: 'aloft:synthetic', type: 'installed' } })).toEqual([
      'synthetic',
    ]);
    expect(
      ex({
        executable: {
          name: 't',
          pfn: '/usr/bin/t',
          type: 'installed',
          container: { name: 'c', type: 'docker', image: 'docker:///busybox', mounts: [] },
        },
      }),
    ).toEqual(['docker']);
    for (const kind of ['stage_in', 'stage_out', 'inter_site'] as const) {
      expect(ex({ kind, executable: undefined })).toEqual(['transfer']);
    }
    expect(ex({ kind: 'cleanup', executable: undefined })).toEqual(['cleanup']);
    expect(ex({ kind: 'register', executable: undefined })).toEqual(['register']);
  });

  it('takes arch and os from the executable first, then aloft profiles, normalised', () => {
    const exe = { name: 't', pfn: '/t', type: 'installed' as const, arch: 'arm64', os: 'darwin' };
    expect(requirementsOf(job('j', { executable: exe }))).toMatchObject({
      arch: 'aarch64',
      os: 'macosx',
    });
    const prof = job('j', { profiles: { aloft: { arch: 'AMD64', os: 'Linux' } } });
    expect(requirementsOf(prof)).toMatchObject({ arch: 'x86_64', os: 'linux' });
    expect(requirementsOf({ ...prof, executable: exe })).toMatchObject({
      arch: 'aarch64',
      os: 'macosx',
    });
    const plain = requirementsOf(job('j'));
    expect(plain.arch).toBeUndefined();
    expect(plain.os).toBeUndefined();
  });

  it('parses the aloft.selector profile and reports bad clauses naming the job', () => {
    expect(
      requirementsOf(job('j', { profiles: { aloft: { selector: 'zone In (a,b), gpu' } } }))
        .selector,
    ).toHaveLength(2);
    let err: unknown;
    try {
      requirementsOf(job('j9', { profiles: { aloft: { selector: 'zone In (), rack Gt x' } } }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AloftError);
    const e = err as AloftError;
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.problems.map((p) => p.where)).toEqual([
      'job j9: profile aloft.selector',
      'job j9: profile aloft.selector',
    ]);
    expect(e.problems[1]!.message).toContain("'rack Gt x'");
  });

  it('rejects negative resources', () => {
    expect(() => requirementsOf(job('j', { resources: res({ cores: -1 }) }))).toThrow(
      /resources.cores/,
    );
  });
});

describe('match: requirement kinds', () => {
  it('matches on site, including extra served sites', () => {
    const agents = [
      agent('a1', { site: 'cloud' }),
      agent('a2', { site: 'hpc', sites: ['edge-radar-1'] }),
    ];
    expect(placed({ jobs: [job('j')], agents })).toEqual({ j: 'a2' });
  });

  it('matches on each resource against free capacity', () => {
    const agents = [
      agent('small', { cores: 2, memoryMb: 1024, diskFreeMb: 100 }),
      agent('big', { cores: 16, memoryMb: 65536, diskFreeMb: 10000, gpus: 2 }),
    ];
    const only = (r: Partial<PlannedJob['resources']>): Record<string, string> =>
      placed({ jobs: [job('j', { resources: res(r) })], agents });
    expect(only({ cores: 4 })).toEqual({ j: 'big' });
    expect(only({ memoryMb: 2048 })).toEqual({ j: 'big' });
    expect(only({ diskMb: 101 })).toEqual({ j: 'big' });
    expect(only({ gpus: 1 })).toEqual({ j: 'big' });
    expect(only({ gpus: 3 })).toEqual({});
    expect(only({ cores: 1 })).toEqual({ j: 'big' }); // both fit: more free cores wins
  });

  it('subtracts resources in use and respects slots in use', () => {
    const agents = [
      agent(
        'a1',
        { cores: 8 },
        { inUse: { cores: 7, memoryMb: 0, diskMb: 0, gpus: 0 }, slotsInUse: 1 },
      ),
      agent('a2', { slots: 2 }, { slotsInUse: 2 }),
      agent(
        'a3',
        { cores: 8 },
        { inUse: { cores: 6, memoryMb: 0, diskMb: 0, gpus: 0 }, slotsInUse: 1 },
      ),
    ];
    expect(placed({ jobs: [job('j', { resources: res({ cores: 2 }) })], agents })).toEqual({
      j: 'a3',
    });
  });

  it('matches arch and os; an ad without them does not satisfy a platform requirement', () => {
    const agents = [
      agent('arm', { arch: 'arm64' }),
      agent('mac', { os: 'darwin', arch: 'arm64' }),
      agent('none', { arch: undefined, os: undefined }),
    ];
    const exe = (arch?: string, os?: string): PlannedJob['executable'] => ({
      name: 't',
      pfn: '/t',
      type: 'installed',
      ...(arch ? { arch } : {}),
      ...(os ? { os } : {}),
    });
    expect(placed({ jobs: [job('j', { executable: exe('aarch64', 'macosx') })], agents })).toEqual({
      j: 'mac',
    });
    expect(placed({ jobs: [job('j', { executable: exe('aarch64', 'linux') })], agents })).toEqual({
      j: 'arm',
    });
    expect(placed({ jobs: [job('j', { executable: exe('x86_64') })], agents })).toEqual({});
    expect(placed({ jobs: [job('j', { executable: exe() })], agents })).toEqual({ j: 'arm' });
  });

  it('matches executors: docker jobs only on docker agents, register jobs never', () => {
    const agents = [agent('plain'), agent('withdocker', { executors: ['process', 'docker'] })];
    const docker = job('d', {
      executable: {
        name: 't',
        pfn: '/t',
        type: 'installed',
        container: { name: 'c', type: 'docker', image: 'docker:///busybox', mounts: [] },
      },
    });
    const r = match({
      jobs: [docker, job('reg', { kind: 'register', executable: undefined })],
      agents,
    });
    expect(r.assignments.map((a) => [a.job.id, a.agent])).toEqual([['d', 'withdocker']]);
    expect(r.idle[0]!.reason.kind).toBe('no-match');
    expect(r.idle[0]!.reason.message).toContain('register executor');
  });

  it('matches label selectors', () => {
    const agents = [
      agent('a1', { labels: { zone: 'east', rack: '2' } }),
      agent('a2', { labels: { zone: 'west', rack: '9', spot: 'true' } }),
      agent('a3', { labels: {} }),
    ];
    const sel = (s: string): string[] =>
      match({ jobs: [job('j', { profiles: { aloft: { selector: s } } })], agents }).assignments.map(
        (a) => a.agent,
      );
    expect(sel('zone In (west)')).toEqual(['a2']);
    expect(sel('zone NotIn (east)')).toEqual(['a2']); // a2 has fewer... tie on load: id order
    expect(sel('zone NotIn (east,west)')).toEqual(['a3']);
    expect(sel('!spot, zone')).toEqual(['a1']);
    expect(sel('rack Gt 5')).toEqual(['a2']);
    expect(sel('rack Lt 5')).toEqual(['a1']);
    expect(sel('rack Lt 1')).toEqual([]);
  });

  it('gives nothing to draining, quarantined or lost agents', () => {
    const agents = [
      agent('a1', {}, { state: 'draining' }),
      agent('a2', {}, { state: 'quarantined' }),
      agent('a3', {}, { state: 'lost' }),
    ];
    const r = match({ jobs: [job('j')], agents });
    expect(r.assignments).toEqual([]);
    expect(r.idle[0]!.reason).toMatchObject({ kind: 'no-match' });
    expect(r.idle[0]!.reason.message).toBe(
      'no agent is ready to take work (1 draining, 1 lost, 1 quarantined)',
    );
    expect(placed({ jobs: [job('j')], agents: [...agents, agent('a4')] })).toEqual({ j: 'a4' });
  });

  it('reports invalid requirements as idle without failing the pass', () => {
    const bad = job('bad', { profiles: { aloft: { selector: 'zone In (' } } });
    const r = match({ jobs: [bad, job('ok')], agents: [agent('a1')] });
    expect(r.assignments.map((a) => a.job.id)).toEqual(['ok']);
    expect(r.idle[0]!.reason.kind).toBe('invalid');
    expect(r.idle[0]!.reason.message).toContain('job bad: profile aloft.selector');
  });
});

describe('match: greedy pass and ranking', () => {
  it('shrinks free resources as it assigns within one pass', () => {
    const agents = [agent('a1', { slots: 10, cores: 4 })];
    const jobs = ['j1', 'j2', 'j3'].map((id) => job(id, { resources: res({ cores: 2 }) }));
    const r = match({ jobs, agents });
    expect(r.assignments.map((a) => a.job.id)).toEqual(['j1', 'j2']);
    expect(r.idle).toEqual([
      {
        job: jobs[2],
        reason: {
          kind: 'busy',
          agents: 1,
          message: '1 ready agent can run it; none has a free slot or enough free resources now',
        },
      },
    ]);
  });

  it('assigns in the order given (priority first), so the earlier job gets the last slot', () => {
    const agents = [agent('a1', { slots: 1 })];
    const jobs = [job('high', { priority: 9 }), job('low', { priority: 1 })];
    expect(placed({ jobs, agents })).toEqual({ high: 'a1' });
  });

  it('spreads by load: fewest slots in use, then most free cores, then agent id', () => {
    const agents = [
      agent(
        'c',
        { cores: 8 },
        { slotsInUse: 1, inUse: { cores: 1, memoryMb: 0, diskMb: 0, gpus: 0 } },
      ),
      agent('b', { cores: 4 }),
      agent('a', { cores: 4 }),
      agent('d', { cores: 16 }),
    ];
    const jobs = ['j1', 'j2', 'j3', 'j4', 'j5'].map((id) => job(id));
    // d (0 in use, 16 cores) first, then a and b (0 in use, 4 cores; id order), then
    // d again (1 in use, 15 free) before c (1 in use, 7 free).
    expect(match({ jobs, agents }).assignments.map((x) => x.agent)).toEqual([
      'd',
      'a',
      'b',
      'd',
      'c',
    ]);
  });

  it('sends a job away from the agent its attempt just failed on, unless nothing else fits', () => {
    const avoid = new Map([['again', new Set(['a'])]]);
    // a would win on id order; the job avoids it and goes to b.
    expect(placed({ jobs: [job('again')], agents: [agent('a'), agent('b')], avoid })).toEqual({
      again: 'b',
    });
    // b cannot take it (no free slot): back to a rather than nowhere.
    const busy = agent('b', { slots: 1 }, { slotsInUse: 1 });
    expect(placed({ jobs: [job('again')], agents: [agent('a'), busy], avoid })).toEqual({
      again: 'a',
    });
    // Other jobs are not affected, and the avoided agent keeps its place in the pass.
    expect(
      placed({ jobs: [job('again'), job('other')], agents: [agent('a'), agent('b')], avoid }),
    ).toEqual({ again: 'b', other: 'a' });
  });

  it('ranks data locality above load, and load above id', () => {
    const big = input('big.dat', 500 * MB);
    const small = input('small.dat', 1 * MB);
    const agents = [
      agent('a-idle'),
      agent('b-busy', {}, { slotsInUse: 3, cached: new Map([[big.url, 500 * MB]]) }),
      agent('c-small', {}, { slotsInUse: 1, cached: new Map([[small.lfn, 1 * MB]]) }),
    ];
    expect(placed({ jobs: [job('j', { inputs: [big, small] })], agents })).toEqual({ j: 'b-busy' });
    expect(placed({ jobs: [job('j', { inputs: [small] })], agents })).toEqual({ j: 'c-small' });
    expect(placed({ jobs: [job('j', { inputs: [input('other', 5)] })], agents })).toEqual({
      j: 'a-idle',
    });
    // Locality ties are broken by load, then id.
    const tied = [
      agent('z', {}, { cached: new Map([[big.url, 1]]) }),
      agent('y', {}, { slotsInUse: 2, cached: new Map([[big.url, 1]]) }),
      agent('x', {}, { cached: new Map([[big.url, 1]]) }),
    ];
    expect(placed({ jobs: [job('j', { inputs: [big] })], agents: tied })).toEqual({ j: 'x' });
  });

  it('falls back from a full cache holder to the least-loaded agent', () => {
    const big = input('big.dat', 500 * MB);
    const agents = [
      agent('holder', { slots: 1 }, { cached: new Map([[big.url, 500 * MB]]) }),
      agent('other'),
    ];
    const jobs = [job('j1', { inputs: [big] }), job('j2', { inputs: [big] })];
    expect(placed({ jobs, agents })).toEqual({ j1: 'holder', j2: 'other' });
  });

  it('uses a CacheIndex from the snapshot, crediting unknown sizes with the cached size', () => {
    const cache = new CacheIndex();
    cache.add('b', 'in.dat', 10);
    cache.add('c', 'file:///store/edge-radar-1/in.dat', 20);
    const agents = [agent('a'), agent('b'), agent('c')];
    expect(placed({ jobs: [job('j', { inputs: [input('in.dat')] })], agents, cache })).toEqual({
      j: 'c',
    });
    cache.dropAgent('c');
    expect(placed({ jobs: [job('j', { inputs: [input('in.dat')] })], agents, cache })).toEqual({
      j: 'b',
    });
    expect(cache.size).toBe(1);
  });

  it('respects per-category throttles, counting its own assignments', () => {
    const agents = [agent('a1', { slots: 10 })];
    const jobs = [
      job('m1', { category: 'mosaic' }),
      job('m2', { category: 'mosaic' }),
      job('m3', { category: 'mosaic' }),
      job('other'),
      job('p1', { category: 'proj' }),
    ];
    const r = match({
      jobs,
      agents,
      throttles: { limits: { mosaic: 2, proj: 1 }, running: { mosaic: 1 } },
    });
    expect(r.assignments.map((a) => a.job.id)).toEqual(['m1', 'other', 'p1']);
    expect(r.idle.map((i) => [i.job.id, i.reason.kind])).toEqual([
      ['m2', 'throttled'],
      ['m3', 'throttled'],
    ]);
    expect(r.idle[0]!.reason.message).toBe('category mosaic has 2 jobs running, its limit');
  });

  it('is deterministic: same answer for the same snapshot, whatever the agent order', () => {
    const agents = Array.from({ length: 30 }, (_, i) =>
      agent(
        `ag-${String(i).padStart(2, '0')}`,
        { cores: 2 + (i % 5), slots: 1 + (i % 3) },
        { slotsInUse: i % 2 },
      ),
    );
    const jobs = Array.from({ length: 80 }, (_, i) =>
      job(`j${i}`, { resources: res({ cores: 1 + (i % 3) }) }),
    );
    const first = match({ jobs, agents });
    const again = match({ jobs, agents });
    const reversed = match({ jobs, agents: [...agents].reverse() });
    const view = (r: typeof first): string[][] => r.assignments.map((a) => [a.job.id, a.agent]);
    expect(view(again)).toEqual(view(first));
    expect(view(reversed)).toEqual(view(first));
    expect(first.assignments.length + first.idle.length).toBe(80);
  });

  it('agrees with a brute-force greedy matcher on a mixed workload', () => {
    const sites = ['s1', 's2', 's3'];
    const agents = Array.from({ length: 40 }, (_, i) =>
      agent(
        `a${i}`,
        {
          site: sites[i % 3]!,
          sites: i % 7 === 0 ? ['s2'] : [],
          cores: 1 + (i % 8),
          memoryMb: 1024 * (1 + (i % 4)),
          slots: 1 + (i % 4),
          gpus: i % 10 === 0 ? 1 : 0,
          labels: i % 2 === 0 ? { zone: 'even' } : { zone: 'odd' },
        },
        { slotsInUse: i % 3 === 0 ? 1 : 0 },
      ),
    );
    const jobs = Array.from({ length: 300 }, (_, i) =>
      job(`j${i}`, {
        site: sites[i % 3]!,
        resources: res({ cores: 1 + (i % 5), memoryMb: 512 * (i % 6), gpus: i % 37 === 0 ? 1 : 0 }),
        ...(i % 4 === 0 ? { profiles: { aloft: { selector: 'zone In (even)' } } } : {}),
      }),
    );
    // Reference: the plain O(jobs x agents) greedy with the same ranking.
    const free = agents.map((a) => ({
      id: a.ad.agent,
      slots: a.ad.slots - a.slotsInUse,
      used: a.slotsInUse,
      cores: a.ad.cores,
      mem: a.ad.memoryMb,
      gpus: a.ad.gpus ?? 0,
      a,
    }));
    const expected: string[][] = [];
    for (const j of jobs) {
      const sel = j.profiles?.['aloft']?.['selector'];
      const ok = free.filter(
        (f) =>
          (f.a.ad.site === j.site || f.a.ad.sites.includes(j.site)) &&
          f.slots >= 1 &&
          f.cores >= j.resources.cores &&
          f.mem >= j.resources.memoryMb &&
          f.gpus >= j.resources.gpus &&
          (sel === undefined || f.a.ad.labels['zone'] === 'even'),
      );
      ok.sort((x, y) => x.used - y.used || y.cores - x.cores || (x.id < y.id ? -1 : 1));
      const best = ok[0];
      if (!best) continue;
      best.slots--;
      best.used++;
      best.cores -= j.resources.cores;
      best.mem -= j.resources.memoryMb;
      best.gpus -= j.resources.gpus;
      expected.push([j.id, best.id]);
    }
    const got = match({ jobs, agents }).assignments.map((a) => [a.job.id, a.agent]);
    expect(expected.length).toBeGreaterThan(20);
    expect(got).toEqual(expected);
  });
});

describe('explainIdle', () => {
  const fleet = [
    agent('e1', { site: 'edge-radar-1', memoryMb: 16 * 1024 }),
    agent('e2', { site: 'edge-radar-1', memoryMb: 8 * 1024 }),
    agent('e3', { site: 'edge-radar-1', memoryMb: 4 * 1024 }),
    agent('c1', { site: 'cloud', memoryMb: 32 * 1024, labels: { zone: 'us-east' } }),
  ];

  it('names a site no agent serves, with the sites agents do serve', () => {
    const x = explainIdle(job('j', { site: 'hpc-anvil' }), fleet);
    expect(x.summary).toBe(
      'no agent serves site hpc-anvil (3 agents serve edge-radar-1, 1 agent serves cloud)',
    );
    expect(x.clauses[0]).toEqual({ requirement: 'site = hpc-anvil', matching: 0 });
    expect(x.matchingAll).toBe(0);
  });

  it('names memory beyond every agent, with the largest one', () => {
    const x = explainIdle(
      job('j', { site: 'cloud', resources: res({ memoryMb: 64 * 1024 }) }),
      fleet,
    );
    expect(x.summary).toBe('needs 64 GB memory; the largest agent serving site cloud has 32 GB');
    const y = explainIdle(job('j', { resources: res({ memoryMb: 64 * 1024 }) }), [fleet[0]!]);
    expect(y.summary).toBe('needs 64 GB memory; the largest agent has 16 GB');
  });

  it('counts agents per requirement, including selector clauses', () => {
    const j = job('j', {
      resources: res({ cores: 4, memoryMb: 6 * 1024, diskMb: 10, gpus: 1 }),
      profiles: { aloft: { selector: 'zone In (us-east), !spot' } },
      executable: { name: 't', pfn: '/t', type: 'installed', arch: 'x86_64', os: 'linux' },
    });
    const x = explainIdle(j, fleet);
    expect(x.clauses).toEqual([
      { requirement: 'site = edge-radar-1', matching: 3 },
      { requirement: 'executor = process', matching: 4 },
      { requirement: 'arch = x86_64', matching: 4 },
      { requirement: 'os = linux', matching: 4 },
      { requirement: 'zone In (us-east)', matching: 1 },
      { requirement: '!spot', matching: 4 },
      { requirement: 'cores ≥ 4', matching: 4 },
      { requirement: 'memory ≥ 6 GB', matching: 3 },
      { requirement: 'disk ≥ 10 MB', matching: 4 },
      { requirement: 'gpus ≥ 1', matching: 0 },
      { requirement: 'state = ready', matching: 4 },
    ]);
    // Each clause but gpus is met by someone, but the site narrows first: none of the
    // edge agents has the zone label.
    expect(x.summary).toBe(
      'no agent serving site edge-radar-1 satisfies selector clause zone In (us-east) (none has label zone)',
    );
  });

  it('explains executors, platforms, disk, cores and gpus', () => {
    const docker = job('j', {
      executable: {
        name: 't',
        pfn: '/t',
        type: 'installed',
        container: { name: 'c', type: 'docker', image: 'x', mounts: [] },
      },
    });
    expect(explainIdle(docker, fleet).summary).toBe(
      'no agent serving site edge-radar-1 has the docker executor (they offer cleanup, cluster, process, synthetic, transfer)',
    );
    const arm = job('j', { profiles: { aloft: { arch: 'aarch64' } } });
    expect(explainIdle(arm, fleet).summary).toBe(
      'needs arch aarch64; no agent serving site edge-radar-1 has it (3 agents are x86_64)',
    );
    expect(explainIdle(job('j', { resources: res({ cores: 64 }) }), fleet).summary).toContain(
      'needs 64 cores; the largest agent serving site edge-radar-1 has 8',
    );
    expect(
      explainIdle(job('j', { resources: res({ diskMb: 500 * 1024 }) }), fleet).summary,
    ).toMatch(
      /needs 500 GB free disk; the roomiest agent serving site edge-radar-1 has 100 GB free$/,
    );
    expect(explainIdle(job('j', { resources: res({ gpus: 2 }) }), fleet).summary).toMatch(
      /needs 2 GPUs; the best-equipped agent serving site edge-radar-1 has 0$/,
    );
  });

  it('says when agents could run it but are busy or not ready', () => {
    const busy = [
      agent('a', { slots: 1 }, { slotsInUse: 1 }),
      agent('b', {}, { state: 'draining' }),
    ];
    expect(explainIdle(job('j'), busy).summary).toBe(
      '1 agent can run it but it is busy (no free slot or resources now)',
    );
    expect(explainIdle(job('j'), [busy[1]!]).summary).toBe(
      'no agent is ready to take work (1 draining)',
    );
    expect(explainIdle(job('j'), [agent('a')]).summary).toContain(
      '1 agent can run it and 1 has room now',
    );
    const mixed = [agent('c', { site: 'cloud' }), agent('d', {}, { state: 'lost' })];
    expect(explainIdle(job('j'), mixed).summary).toBe(
      'no agent serving site edge-radar-1 is ready to take work (1 lost)',
    );
    expect(explainIdle(job('j'), []).summary).toBe('no agent is connected');
  });

  it('summarises invalid requirements instead of throwing', () => {
    const x = explainIdle(job('j', { profiles: { aloft: { selector: 'a In ()' } } }), fleet);
    expect(x.summary).toContain('invalid requirements: job j: profile aloft.selector');
  });

  it('formats sizes', () => {
    expect(formatMb(512)).toBe('512 MB');
    expect(formatMb(1536)).toBe('1.5 GB');
    expect(formatMb(65536)).toBe('64 GB');
  });
});

describe('match: untilFull', () => {
  const ids = (js: readonly PlannedJob[] | undefined): string[] | undefined => js?.map((j) => j.id);
  const pairs = (r: ReturnType<typeof match>): string[] =>
    r.assignments.map((a) => `${a.job.id}@${a.agent}`);

  it('stops once every ready slot is taken: the rest come back unexamined, in order', () => {
    const agents = [agent('a1', { slots: 1 }), agent('a2', { slots: 3 }, { slotsInUse: 1 })];
    const jobs = [
      job('nowhere', { site: 'moon' }),
      job('j1'),
      job('j2'),
      job('j3'),
      job('j4'),
      job('j5'),
    ];
    const full = match({ jobs, agents });
    const short = match({ jobs, agents, untilFull: true });
    expect(pairs(short)).toEqual(pairs(full));
    expect(pairs(short)).toEqual(['j1@a1', 'j2@a2', 'j3@a2']);
    // Jobs looked at before the stop keep their reasons; the rest are the same objects.
    expect(short.idle).toEqual([full.idle[0]]);
    expect(short.idle[0]!.reason.kind).toBe('no-match');
    expect(short.unexamined).toEqual([jobs[4], jobs[5]]);
    expect(short.unexamined![0]).toBe(jobs[4]);
    // Without it every job is examined and nothing is left unexamined.
    expect(full.unexamined).toBeUndefined();
    expect(full.idle.map((i) => [i.job.id, i.reason.kind])).toEqual([
      ['nowhere', 'no-match'],
      ['j4', 'busy'],
      ['j5', 'busy'],
    ]);
  });

  it('goes on while a slot is free, even when resources ran out', () => {
    const agents = [agent('a1', { slots: 10, cores: 2 })];
    const jobs = ['x', 'y', 'z'].map((id) => job(id, { resources: res({ cores: 2 }) }));
    const r = match({ jobs, agents, untilFull: true });
    expect(pairs(r)).toEqual(['x@a1']);
    expect(r.idle.map((i) => [i.job.id, i.reason.kind])).toEqual([
      ['y', 'busy'],
      ['z', 'busy'],
    ]);
    expect(r.unexamined).toBeUndefined();
  });

  it('counts only ready agents: with no free ready slot nothing is examined', () => {
    const agents = [
      agent('full', { slots: 2 }, { slotsInUse: 2 }),
      agent('over', { slots: 1 }, { slotsInUse: 3 }),
      agent('drn', {}, { state: 'draining' }),
      agent('lost', {}, { state: 'lost' }),
    ];
    const jobs = [job('p'), job('q')];
    const r = match({ jobs, agents, untilFull: true });
    expect(r.assignments).toEqual([]);
    expect(r.idle).toEqual([]);
    expect(ids(r.unexamined)).toEqual(['p', 'q']);
    // The last slot taken by the last job: nothing left over, nothing unexamined.
    const exact = match({ jobs, agents: [agent('two', { slots: 2 })], untilFull: true });
    expect(pairs(exact)).toEqual(['p@two', 'q@two']);
    expect(exact.unexamined).toBeUndefined();
  });

  it('gives the same assignments as a full pass on mixed workloads, and partitions the jobs', () => {
    // A fixed-seed generator (mulberry32) for reproducible workloads.
    let seed = 20_240_601;
    const rand = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    let stopped = 0;
    for (let round = 0; round < 40; round++) {
      const agents = Array.from({ length: 1 + Math.floor(rand() * 12) }, (_, i) =>
        agent(
          `a${i}`,
          {
            site: pick(['s1', 's2']),
            slots: 1 + Math.floor(rand() * 4),
            cores: 1 + Math.floor(rand() * 8),
            labels: { zone: pick(['x', 'y']) },
          },
          {
            slotsInUse: Math.floor(rand() * 3),
            state: rand() < 0.15 ? 'draining' : 'ready',
          },
        ),
      );
      const jobs = Array.from({ length: Math.floor(rand() * 60) }, (_, i) =>
        job(`j${i}`, {
          site: pick(['s1', 's2', 's3']),
          resources: res({ cores: 1 + Math.floor(rand() * 6) }),
          ...(rand() < 0.2 ? { profiles: { aloft: { selector: 'zone In (x)' } } } : {}),
          ...(rand() < 0.2 ? { category: 'c' } : {}),
        }),
      );
      const throttles = { limits: { c: 3 }, running: { c: Math.floor(rand() * 3) } };
      const full = match({ jobs, agents, throttles });
      const short = match({ jobs, agents, throttles, untilFull: true });
      expect(pairs(short)).toEqual(pairs(full));
      const rest = short.unexamined ?? [];
      if (rest.length > 0) stopped++;
      // Examined jobs come first; the unexamined are the tail of the input, in order.
      const examined = jobs.length - rest.length;
      expect(rest).toEqual(jobs.slice(examined));
      const seen = [...short.assignments.map((a) => a.job), ...short.idle.map((i) => i.job)];
      expect(seen.map((j) => j.id).sort()).toEqual(
        jobs
          .slice(0, examined)
          .map((j) => j.id)
          .sort(),
      );
      // Idle reasons of examined jobs are the full pass's.
      const fullIdle = new Map(full.idle.map((i) => [i.job.id, i.reason]));
      for (const i of short.idle) expect(i.reason).toEqual(fullIdle.get(i.job.id));
      // Nothing unexamined could have been placed.
      for (const j of rest) expect(fullIdle.has(j.id)).toBe(true);
    }
    // The workloads did reach the stop point (else this compared nothing new).
    expect(stopped).toBeGreaterThan(5);
  });
});

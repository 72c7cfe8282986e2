/**
 * The registry as Placement with prefetch: once no agent has a free slot, jobs waiting only
 * for one go into the queues of agents that advertise `prefetch` (queued reservations hold
 * no slot or resources; each must fit the agent's whole capacity, together with the rest of
 * its queue); releasing a running reservation promotes the oldest queued ones that fit,
 * releasing a queued one frees its place. Throttles hold across both passes.
 */
import { describe, expect, it } from 'vitest';
import type { AgentAd, PlannedJob } from '../../proto/index.js';
import { AgentRegistry } from './agent-registry.js';

function ad(agent: string, over: Partial<AgentAd> = {}): AgentAd {
  return {
    agent,
    site: 'local',
    sites: [],
    host: agent,
    slots: 2,
    cores: 2,
    memoryMb: 4096,
    diskFreeMb: 100_000,
    executors: ['process'],
    labels: {},
    prefetch: 2,
    ...over,
  };
}

function job(id: string, cores = 1, over: Partial<PlannedJob> = {}): PlannedJob {
  return {
    id,
    kind: 'compute',
    site: 'local',
    parents: [],
    covers: [id],
    priority: 0,
    retries: 0,
    resources: { cores, memoryMb: 0, diskMb: 0, runtimeSec: 0, gpus: 0 },
    executable: { name: 'x', pfn: '/bin/true', type: 'installed' },
    ...over,
  };
}

const jobs = (n: number, prefix = 'j', cores = 1, over: Partial<PlannedJob> = {}): PlannedJob[] =>
  Array.from({ length: n }, (_, i) => job(`${prefix}${i}`, cores, over));

const NO_THROTTLES = { limits: {}, running: {} };

const ids = (a: { job: PlannedJob; agent: string }[]): string[] =>
  a.map((x) => `${x.job.id}@${x.agent}`);

function registry(...ads: AgentAd[]): AgentRegistry {
  const r = new AgentRegistry();
  for (const a of ads) r.onAd(a);
  return r;
}

const info = (r: AgentRegistry, agent: string) => r.list().find((a) => a.agent === agent)!;
const view = (r: AgentRegistry, agent: string) => r.views().find((v) => v.ad.agent === agent)!;

describe('agent registry: queued reservations (prefetch)', () => {
  it('fills the slots, then the queue, in dispatch order; the rest stay', () => {
    const r = registry(ad('a'));
    const all = jobs(6);
    const got = r.assign(all, NO_THROTTLES);
    expect(ids(got)).toEqual(['j0@a', 'j1@a', 'j2@a', 'j3@a']);
    // Queued reservations hold neither a slot nor resources.
    expect(info(r, 'a').slotsInUse).toBe(2);
    expect(info(r, 'a').inUse.cores).toBe(2);
    expect(view(r, 'a').slotsInUse).toBe(2);
    expect(view(r, 'a').inUse.cores).toBe(2);
    // Full and queue full: nothing more.
    expect(r.assign(all.slice(4), NO_THROTTLES)).toEqual([]);
  });

  it('release of a running reservation promotes the oldest queued one; the queue then has room for one', () => {
    const r = registry(ad('a'));
    const all = jobs(6);
    r.assign(all, NO_THROTTLES);
    r.release('a', all[0]!); // j0 ended: j2, the oldest queued, now runs
    expect(info(r, 'a').slotsInUse).toBe(2);
    expect(info(r, 'a').inUse.cores).toBe(2);
    const next = r.assign(all.slice(4), NO_THROTTLES);
    expect(ids(next)).toEqual(['j4@a']);
    // Promotion is in order: j1 ending promotes j3 (queued before j4).
    r.release('a', all[1]!);
    r.release('a', all[2]!);
    expect(info(r, 'a').slotsInUse).toBe(2); // j3 and j4 run now, the queue is empty
    expect(ids(r.assign([all[5]!, job('x1'), job('x2')], NO_THROTTLES))).toEqual(['j5@a', 'x1@a']);
  });

  it('release of a queued reservation frees its place in the queue and no slot', () => {
    const r = registry(ad('a'));
    const all = jobs(6);
    r.assign(all, NO_THROTTLES);
    r.release('a', all[3]!); // queued j3 was rejected or killed
    expect(info(r, 'a').slotsInUse).toBe(2);
    expect(info(r, 'a').inUse.cores).toBe(2);
    expect(ids(r.assign(all.slice(4), NO_THROTTLES))).toEqual(['j4@a']);
    // j2 (queued first) is still next in line: j0 ending promotes it, not j4.
    r.release('a', all[0]!);
    r.release('a', all[2]!); // the promoted j2 ends: j4 runs
    expect(info(r, 'a').slotsInUse).toBe(2);
    expect(ids(r.assign(all.slice(5), NO_THROTTLES))).toEqual(['j5@a']);
  });

  it('promotes a queued job only when a slot AND its resources are free', () => {
    const r = registry(ad('a'));
    const small = jobs(2, 's');
    const big = job('big', 2);
    expect(ids(r.assign([...small, big], NO_THROTTLES))).toEqual(['s0@a', 's1@a', 'big@a']);
    r.release('a', small[0]!);
    // A slot is free but only one core: big stays queued.
    expect(info(r, 'a').slotsInUse).toBe(1);
    expect(info(r, 'a').inUse.cores).toBe(1);
    r.release('a', small[1]!);
    expect(info(r, 'a').slotsInUse).toBe(1);
    expect(info(r, 'a').inUse.cores).toBe(2);
  });

  it('holds category throttles across both passes', () => {
    const r = registry(ad('a'));
    const all = jobs(6, 'c', 1, { category: 'io' });
    const got = r.assign(all, { limits: { io: 3 }, running: {} });
    expect(ids(got)).toEqual(['c0@a', 'c1@a', 'c2@a']);
    expect(info(r, 'a').slotsInUse).toBe(2);
    // Jobs of the category already running elsewhere count too.
    const r2 = registry(ad('a'));
    expect(ids(r2.assign(all, { limits: { io: 3 }, running: { io: 2 } }))).toEqual(['c0@a']);
    // Other categories are not held by it.
    const mixed = [...all.slice(0, 3), job('free0'), job('free1')];
    const r3 = registry(ad('a'));
    expect(ids(r3.assign(mixed, { limits: { io: 1 }, running: {} }))).toEqual([
      'c0@a',
      'free0@a',
      'free1@a',
    ]);
  });

  it('gives no queued work to an agent without prefetch', () => {
    const r = registry(ad('p', { prefetch: 2 }), ad('q', { prefetch: undefined }));
    const all = jobs(8);
    const got = r.assign(all, NO_THROTTLES);
    // 4 slots in all, then only p's queue.
    expect(got).toHaveLength(6);
    expect(got.filter((a) => a.agent === 'q')).toHaveLength(2);
    expect(got.filter((a) => a.agent === 'p')).toHaveLength(4);
    const zero = registry(ad('z', { prefetch: 0 }));
    expect(zero.assign(jobs(4), NO_THROTTLES)).toHaveLength(2);
  });

  it('queues only jobs that fit the whole capacity, together with the rest of the queue', () => {
    // A 4-core job on a 2-core agent is never queued, whether the slots are full or not.
    const r = registry(ad('a'));
    expect(r.assign([job('huge', 4)], NO_THROTTLES)).toEqual([]);
    const got = r.assign([...jobs(2), job('huge', 4), job('fits', 1)], NO_THROTTLES);
    expect(ids(got)).toEqual(['j0@a', 'j1@a', 'fits@a']);
    // A 2-core job takes the whole capacity: the queue has no cores left for a third.
    const r2 = registry(ad('a'));
    const got2 = r2.assign([...jobs(2), job('big', 2), job('after', 1)], NO_THROTTLES);
    expect(ids(got2)).toEqual(['j0@a', 'j1@a', 'big@a']);
    // The same holds for memory.
    const r3 = registry(ad('a', { memoryMb: 1000 }));
    const heavy = (id: string) =>
      job(id, 1, { resources: { cores: 1, memoryMb: 600, diskMb: 0, runtimeSec: 0, gpus: 0 } });
    const got3 = r3.assign([job('r0'), job('r1'), heavy('m0'), heavy('m1')], NO_THROTTLES);
    expect(ids(got3)).toEqual(['r0@a', 'r1@a', 'm0@a']);
  });

  it('queues nothing on a draining agent, and nothing on one that is not ready', () => {
    const r = registry(ad('a'), ad('b'));
    r.drain('b');
    const got = r.assign(jobs(6), NO_THROTTLES);
    expect(got.every((a) => a.agent === 'a')).toBe(true);
    expect(got).toHaveLength(4);
    // a drains after its slots filled: its free queue room takes nothing.
    const r2 = registry(ad('a'));
    expect(r2.assign(jobs(2), NO_THROTTLES)).toHaveLength(2);
    r2.drain('a');
    expect(r2.assign(jobs(4, 'k'), NO_THROTTLES)).toEqual([]);
    r2.drain('a', false);
    expect(ids(r2.assign(jobs(4, 'k'), NO_THROTTLES))).toEqual(['k0@a', 'k1@a']);
  });

  it('uses free slots anywhere before any queue', () => {
    const r = registry(ad('a', { slots: 1, cores: 1, prefetch: 2 }), ad('b', { prefetch: 0 }));
    const got = r.assign(jobs(4), NO_THROTTLES);
    // a's slot and b's two slots first; only the fourth is queued on a.
    expect(got.filter((x) => x.agent === 'b')).toHaveLength(2);
    expect(got.filter((x) => x.agent === 'a')).toHaveLength(2);
    expect(ids(got).at(-1)).toBe('j3@a');
  });

  it('reports() counts queued reservations with the running ones', () => {
    const r = registry(ad('a'));
    r.onHeartbeat({ agent: 'a', running: [], slotsInUse: 0, diskFreeMb: 100_000 });
    // Nothing reserved: not reported.
    expect(r.reports()).toEqual([]);
    const all = jobs(6);
    r.assign(all, NO_THROTTLES);
    expect(r.reports()).toMatchObject([{ agent: 'a', slotsInUse: 4 }]);
    r.release('a', all[3]!); // a queued one
    expect(r.reports()).toMatchObject([{ agent: 'a', slotsInUse: 3 }]);
    r.release('a', all[0]!); // a running one: j2 promoted
    expect(r.reports()).toMatchObject([{ agent: 'a', slotsInUse: 2 }]);
    for (const j of [all[1]!, all[2]!]) r.release('a', j);
    expect(r.reports()).toEqual([]);
  });
});

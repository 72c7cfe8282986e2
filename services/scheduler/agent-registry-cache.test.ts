/**
 * The registry keeps the broker's cache index from the agents' ads: a job goes to the
 * agent whose ad lists its input, and a later ad replaces what was known.
 */
import { describe, expect, it } from 'vitest';
import type { AgentAd, PlannedJob } from '../../proto/index.js';
import { AgentRegistry } from './agent-registry.js';

const MB = 1024 * 1024;
const url = 's3://data/big.dat';

function ad(agent: string, cached: string[] = []): AgentAd {
  return {
    agent,
    site: 'local',
    sites: [],
    host: agent,
    slots: 4,
    cores: 4,
    memoryMb: 4096,
    diskFreeMb: 100_000,
    executors: ['process'],
    labels: {},
    cache: {
      entries: cached.length,
      bytes: cached.length * 500 * MB,
      budgetBytes: 10_000 * MB,
      largest: cached.map((u) => ({ urls: [u], bytes: 500 * MB })),
    },
  };
}

const job: PlannedJob = {
  id: 'j1',
  kind: 'compute',
  site: 'local',
  parents: [],
  covers: ['j1'],
  priority: 0,
  retries: 0,
  resources: { cores: 1, memoryMb: 0, diskMb: 0, runtimeSec: 0, gpus: 0 },
  executable: { name: 'x', pfn: '/bin/true', type: 'installed' },
  inputs: [{ lfn: 'big.dat', url, size: 500 * MB }],
};

const placed = (r: AgentRegistry): string | undefined =>
  r.assign([job], { limits: {}, running: {} })[0]?.agent;

describe('agent registry cache index', () => {
  it('places a job where its input is cached, and forgets what a newer ad no longer lists', () => {
    const r = new AgentRegistry();
    r.onAd(ad('a'));
    r.onAd(ad('b', [url]));
    expect(placed(r)).toBe('b');
    r.release('b', job);
    expect(r.cache.size).toBe(1);
    // b evicted it: the next ad replaces the index entry; ties go by load then id.
    r.onAd(ad('b'));
    expect(r.cache.size).toBe(0);
    expect(placed(r)).toBe('a');
    r.release('a', job);
    // An ad without any cache summary (agent without a cache) holds nothing either.
    r.onAd(ad('c', [url]));
    expect(placed(r)).toBe('c');
    r.release('c', job);
    const { cache: _drop, ...noCache } = ad('c');
    r.onAd(noCache);
    expect(r.cache.size).toBe(0);
  });
});

describe('agent registry: retries avoid the agent that failed them', () => {
  it('places a job away from an agent it was avoided on, even over its cached input', () => {
    const r = new AgentRegistry();
    r.onAd(ad('a'));
    r.onAd(ad('b', [url]));
    r.avoid(job, 'b'); // b ran out of disk on this job
    expect(placed(r)).toBe('a');
    r.release('a', job);
    // A copy of the job (another workflow's) is not affected.
    const other = { ...job };
    expect(r.assign([other], { limits: {}, running: {} })[0]?.agent).toBe('b');
  });
});

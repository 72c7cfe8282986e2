/**
 * bench/broker — one matchmaking pass (services/broker `match`) over synthetic snapshots:
 * ready jobs x agents -> milliseconds per pass (best and median of --repeat passes, after
 * warm-up). Budget (issue 3): 10k jobs x 1,000 agents well under 100 ms per pass.
 *
 *   node dist/bench/broker.js [--repeat N]
 *
 * Shapes: `plain` — one site, identical jobs; `mixed` — 4 sites, 3 resource shapes, a
 * quarter of the jobs with a label selector, agents of varied size and load; `locality` —
 * mixed plus every job with 3 inputs, each cached on 5 agents (index kept by the caller);
 * `crowded` — mixed jobs on big agents with 10 slots each: nearly every job finds room.
 */
import { parseArgs } from 'node:util';
import type { AgentView } from '../services/broker/index.js';
import { CacheIndex, match } from '../services/broker/index.js';
import type { PlannedJob } from '../proto/index.js';

const { values } = parseArgs({ options: { repeat: { type: 'string', default: '15' } } });
const repeat = Math.max(1, Number(values.repeat));

type Shape = 'plain' | 'mixed' | 'locality' | 'crowded';
const SITES = ['edge-radar-1', 'edge-radar-2', 'cloud-us-east', 'hpc-anvil'];

function agents(n: number, shape: Shape): AgentView[] {
  return Array.from({ length: n }, (_, i): AgentView => {
    const varied = shape !== 'plain';
    return {
      ad: {
        agent: `agent-${String(i).padStart(5, '0')}`,
        site: varied ? SITES[i % SITES.length]! : SITES[0]!,
        sites: [],
        host: `h${i}`,
        slots: shape === 'crowded' ? 10 : varied ? 2 + (i % 7) : 8,
        cores: shape === 'crowded' ? 64 : varied ? 4 + (i % 4) * 4 : 8,
        memoryMb: shape === 'crowded' ? 262_144 : varied ? 8192 * (1 + (i % 4)) : 16384,
        diskFreeMb: 100_000,
        executors: ['process', 'synthetic', 'transfer', 'cleanup', 'cluster'],
        labels: { zone: i % 3 === 0 ? 'a' : 'b', rack: String(i % 20) },
        arch: 'x86_64',
        os: 'linux',
      },
      state: i % 50 === 49 && varied ? 'draining' : 'ready',
      slotsInUse: varied ? i % 3 : 0,
      inUse: { cores: varied ? i % 3 : 0, memoryMb: 0, diskMb: 0, gpus: 0 },
      heartbeatAgeMs: 1000,
    };
  });
}

function jobs(n: number, shape: Shape): PlannedJob[] {
  const varied = shape !== 'plain';
  return Array.from({ length: n }, (_, i): PlannedJob => {
    const inputs =
      shape === 'locality'
        ? [0, 1, 2].map((k) => ({
            lfn: `f${(i * 3 + k) % 5000}`,
            url: `file:///store/f${(i * 3 + k) % 5000}`,
            size: 1_000_000 * (1 + k),
          }))
        : undefined;
    return {
      id: `j${i}`,
      kind: 'compute',
      site: varied ? SITES[i % SITES.length]! : SITES[0]!,
      parents: [],
      covers: [`j${i}`],
      priority: 0,
      retries: 0,
      resources: {
        cores: varied ? 1 + (i % 3) : 1,
        memoryMb: varied ? 1024 * (i % 3) : 512,
        diskMb: 10,
        runtimeSec: 0,
        gpus: 0,
      },
      executable: { name: 't', pfn: '/bin/true', type: 'installed' },
      ...(varied && i % 4 === 0
        ? { profiles: { aloft: { selector: 'zone In (a), rack Lt 15' } } }
        : {}),
      ...(inputs ? { inputs } : {}),
    };
  });
}

function cacheFor(agentList: AgentView[]): CacheIndex {
  const index = new CacheIndex();
  for (let f = 0; f < 5000; f++) {
    for (let k = 0; k < 5; k++) {
      const a = agentList[(f * 7 + k * 131) % agentList.length]!;
      index.add(a.ad.agent, `file:///store/f${f}`, 1_000_000);
    }
  }
  return index;
}

const cases: [number, number, Shape][] = [
  [1_000, 100, 'plain'],
  [10_000, 1_000, 'plain'],
  [10_000, 1_000, 'mixed'],
  [10_000, 1_000, 'locality'],
  [10_000, 1_000, 'crowded'],
  [100_000, 1_000, 'mixed'],
  [10_000, 10_000, 'mixed'],
];

const rows: string[][] = [['jobs', 'agents', 'shape', 'assigned', 'idle', 'best ms', 'median ms']];
for (const [nj, na, shape] of cases) {
  const a = agents(na, shape);
  const j = jobs(nj, shape);
  const cache = shape === 'locality' ? cacheFor(a) : undefined;
  const snapshot = { jobs: j, agents: a, ...(cache ? { cache } : {}) };
  for (let w = 0; w < 3; w++) match(snapshot); // warm-up (JIT, requirements memo)
  const times: number[] = [];
  let result = match(snapshot);
  for (let r = 0; r < repeat; r++) {
    const t0 = process.hrtime.bigint();
    result = match(snapshot);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((x, y) => x - y);
  rows.push([
    String(nj),
    String(na),
    shape,
    String(result.assignments.length),
    String(result.idle.length),
    times[0]!.toFixed(1),
    times[Math.floor(times.length / 2)]!.toFixed(1),
  ]);
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((cell, c) => cell.padStart(widths[c]!)).join('  '));

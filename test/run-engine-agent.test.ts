/**
 * The engine with the real agent (agents/agent) over the in-process transport, on plans
 * built here (independent of the planner): real processes, a real journal, Ctrl-C killing
 * real processes. Also prints the dispatch rate of no-op jobs (a measurement, not asserted).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAgent } from '../agents/agent/index.js';
import { createInProcessTransport } from '../lib/transport/index.js';
import type { Plan, PlannedJob } from '../proto/index.js';
import { createEngine } from '../services/engine/index.js';
import { openJournal, readJournalSync } from '../services/journal/index.js';
import { OutputReplicaCatalog } from '../services/run/index.js';
import { ofType, processesWith } from './run-helpers.js';
import { plannedJob, planOf } from './helpers/plans.js';

function proc(id: string, pfn: string, args: string[], parents: string[] = []): PlannedJob {
  return plannedJob(id, parents, {
    executable: { name: path.basename(pfn), pfn, type: 'installed' },
    args,
    inputs: [],
    outputs: [],
  });
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'aloft-engine-agent-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function runPlan(plan: Plan, slots: number, signal?: AbortSignal) {
  const transport = createInProcessTransport();
  const journal = await openJournal(dir);
  const agent = createAgent({
    id: 'local',
    site: 'local',
    sites: ['local'],
    transport,
    workDir: path.join(dir, 'agent'),
    slots,
  });
  const engine = createEngine({
    plan,
    journal,
    transport,
    runId: 'r',
    planDigest: 'd',
    retryDelayMs: 5,
    outputReplicas: OutputReplicaCatalog.open(path.join(dir, 'output-replicas.yml')),
  });
  const t0 = process.hrtime.bigint();
  try {
    const ended = engine.run(signal);
    await agent.start();
    const state = await ended;
    return { state, ms: Number(process.hrtime.bigint() - t0) / 1e6, engine };
  } finally {
    await agent.stop({ graceMs: 0 });
    await journal.close();
    await transport.close();
  }
}

describe('engine + real agent', () => {
  it('runs a DAG of real processes, retrying a failing one as told', async () => {
    const fail = { ...proc('fails', '/bin/false', []), retries: 1 };
    const plan = planOf([
      proc('a', '/bin/true', []),
      proc('b', '/bin/echo', ['hi'], ['a']),
      fail,
      proc('never', '/bin/true', [], ['fails']),
    ]);
    const { state, engine } = await runPlan(plan, 2);
    expect(state).toBe('failed');
    const ev = readJournalSync(dir);
    expect(
      ofType(ev, 'job_succeeded')
        .map((e) => e.job)
        .sort(),
    ).toEqual(['a', 'b']);
    expect(ofType(ev, 'attempt_started').filter((e) => e.job === 'fails')).toHaveLength(2);
    const b = ofType(ev, 'attempt_finished').find((e) => e.job === 'b')!;
    expect(b.record.stdoutTail).toBe('hi\n');
    expect(b.record.argv).toEqual(['/bin/echo', 'hi']);
    expect(engine.counts()).toEqual({ unready: 1, ready: 0, running: 0, done: 2, failed: 1 });
  });

  it('on abort kills the running processes and journals them as cancelled', async () => {
    const token = '31.4159';
    const plan = planOf([proc('s1', '/bin/sleep', [token]), proc('s2', '/bin/sleep', [token])]);
    const ac = new AbortController();
    const running = runPlan(plan, 2, ac.signal);
    const until = Date.now() + 30_000;
    const sleeps = () => processesWith(token).filter((p) => p.cmdline.startsWith('/bin/sleep'));
    while (sleeps().length < 2 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(sleeps()).toHaveLength(2);
    ac.abort();
    const { state } = await running;
    expect(state).toBe('interrupted');
    const ev = readJournalSync(dir);
    expect(ofType(ev, 'attempt_finished').map((e) => e.failure?.kind)).toEqual([
      'cancelled',
      'cancelled',
    ]);
    expect(ev[ev.length - 1]).toMatchObject({ type: 'run_finished', state: 'interrupted' });
    expect(processesWith(token)).toEqual([]);
  });

  it('dispatches no-op jobs end to end (measured)', async () => {
    const n = 300;
    const slots = os.availableParallelism();
    const plan = planOf(Array.from({ length: n }, (_, i) => proc(`t${i}`, '/bin/true', [])));
    const { state, ms } = await runPlan(plan, slots);
    expect(state).toBe('succeeded');
    expect(ofType(readJournalSync(dir), 'job_succeeded')).toHaveLength(n);
    console.log(
      `engine+agent: ${n} no-op processes, ${slots} slots, ${ms.toFixed(0)} ms = ${((n / ms) * 1000).toFixed(0)} jobs/s`,
    );
  });
});

/**
 * Agent prefetch (attempts accepted beyond the slots, queued, started in order as slots
 * free) and the started notice, driven through a real in-process transport with the
 * protocol messages; real processes through aloft-launcher, real files. Jobs that must keep
 * a slot busy wait for a gate file the test creates; order is read from the invocation
 * records (`start`, `durationMs`) and from the agent's scratch directory, never from
 * wall-clock thresholds.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AloftError } from '../../lib/errors/index.js';
import { createInProcessTransport } from '../../lib/transport/index.js';
import { decodeAgentAd, encodeAgentAd } from '../../proto/codec/index.js';
import type { AttemptKey, AttemptResultMsg, InvocationRecord } from '../../proto/index.js';
import { REPO } from '../../test/helpers/cli.js';
import { createProcessExecutor } from '../executors/index.js';
import { processJob, startTestAgent, type TestAgent } from '../testing/index.js';
import { createAgent } from './agent.js';

const LAUNCHER = path.join(REPO, 'dist', 'bin', 'aloft-launcher');

beforeAll(() => {
  execFileSync('bash', [path.join(REPO, 'scripts', 'build-native.sh')], { stdio: 'inherit' });
});

let t: TestAgent | undefined;
const watchers: FSWatcher[] = [];
afterEach(async () => {
  for (const w of watchers.splice(0)) w.close();
  await t?.close();
  t = undefined;
});

async function start(o: Parameters<typeof startTestAgent>[0] = {}): Promise<TestAgent> {
  if (!existsSync(LAUNCHER)) throw new Error('aloft-launcher was not built');
  t = await startTestAgent({ executors: { process: createProcessExecutor() }, ...o });
  return t;
}

/** Poll until `file` exists (a job's "I am running" marker). */
async function waitForFile(file: string, timeoutMs = 20_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !existsSync(file);) {
    if (Date.now() > end) throw new Error(`${file} did not appear`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A job that marks its scratch `running`, then holds its slot until `gate` exists. */
const gated = (id: string, gate: string) =>
  processJob(id, [
    '/bin/sh',
    '-c',
    'touch running; while [ ! -e "$1" ]; do sleep 0.02; done',
    'sh',
    gate,
  ]);

/** Every name that appeared in `dir` (inotify: creations and renames into it). */
function namesAppearingIn(dir: string): Set<string> {
  const names = new Set<string>();
  const w = watch(dir, (_event, name) => {
    if (name) names.add(name.toString());
  });
  watchers.push(w);
  return names;
}

const startMs = (r: InvocationRecord): number => Date.parse(r.start);
const endMs = (r: InvocationRecord): number => Date.parse(r.start) + r.durationMs;
const scratchOf = (k: AttemptKey): string => `${k.job}.${k.attempt}.${k.epoch}`;
const hasResult = (k: AttemptKey): boolean =>
  t!.driver.results.some(
    (r) => r.key.job === k.job && r.key.attempt === k.attempt && r.key.epoch === k.epoch,
  );
/**
 * Offer a gated job `id` to the started agent and wait until it runs: it holds its slot
 * until the returned `gate` file exists.
 */
async function holdSlot(id: string) {
  if (!t) throw new Error('start() the agent first');
  const gate = path.join(t.dir, 'gate');
  const offered = await t.driver.offer(gated(id, gate));
  await waitForFile(path.join(t.workDir, 'scratch', `${id}.1.1`, 'running'));
  return { ...offered, gate };
}

const failureOf = (r: AttemptResultMsg) => (r.outcome.ok ? undefined : r.outcome.failure);

describe('agent prefetch', () => {
  it('accepts slots + prefetch attempts, rejects the next naming both counts, starts the queue in order', async () => {
    const { driver, agent, workDir } = await start({ slots: 1, prefetch: 2 });
    const a = await holdSlot('a');
    const { gate } = a;
    const b = await driver.offer(processJob('b', ['/bin/true']));
    const c = await driver.offer(processJob('c', ['/bin/true']));
    const d = await driver.offer(processJob('d', ['/bin/true']));
    expect([a.reply, b.reply, c.reply]).toEqual([
      { accepted: true },
      { accepted: true },
      { accepted: true },
    ]);
    expect(d.reply).toEqual({
      accepted: false,
      reason: 'no free slot on agent agent-1 (1/1 busy, 2/2 queued)',
    });
    // Queued attempts are the agent's (heartbeats name them) but have not started.
    expect(agent.running()).toEqual([a.key, b.key, c.key]);
    expect(existsSync(path.join(workDir, 'scratch', scratchOf(b.key)))).toBe(false);
    expect(existsSync(path.join(workDir, 'scratch', scratchOf(c.key)))).toBe(false);
    expect(driver.started.map((s) => s.key.job)).toEqual(['a']);
    // A repeated offer of a queued attempt is accepted without queueing it twice.
    expect((await driver.offer(processJob('b', ['/bin/true']))).reply).toEqual({
      accepted: true,
    });
    expect(agent.running()).toHaveLength(3);

    await writeFile(gate, '');
    const [ra, rb, rc] = await Promise.all([a, b, c].map((x) => driver.result(x.key)));
    for (const r of [ra!, rb!, rc!]) expect(r.outcome.ok).toBe(true);
    // One slot: b started after a ended, c after b ended.
    expect(startMs(rb!.outcome.record)).toBeGreaterThanOrEqual(endMs(ra!.outcome.record));
    expect(startMs(rc!.outcome.record)).toBeGreaterThanOrEqual(endMs(rb!.outcome.record));
    expect(driver.started.map((s) => s.key.job)).toEqual(['a', 'b', 'c']);
    expect(agent.running()).toEqual([]);
    // The queue drained: a new offer runs at once again.
    const e = await driver.offer(processJob('e', ['/bin/true']));
    expect(e.reply).toEqual({ accepted: true });
    expect((await driver.result(e.key)).outcome.ok).toBe(true);
  });

  it('a kill of a queued attempt ends it at once as cancelled, without a scratch dir; the others go on', async () => {
    const { driver, agent, workDir } = await start({ slots: 1, prefetch: 2 });
    const seen = namesAppearingIn(path.join(workDir, 'scratch'));
    const a = await holdSlot('a');
    const { gate } = a;
    const b = await driver.offer(processJob('b', ['/bin/true']));
    const c = await driver.offer(processJob('c', ['/bin/true']));
    expect([b.reply, c.reply]).toEqual([{ accepted: true }, { accepted: true }]);

    driver.kill(b.key, 'removed by user');
    const rb = await driver.result(b.key);
    // Ended while a still holds the only slot: it never waited for one.
    expect(hasResult(a.key)).toBe(false);
    expect(failureOf(rb)).toEqual({
      kind: 'cancelled',
      message: 'attempt cancelled: removed by user',
    });
    expect(agent.running()).toEqual([a.key, c.key]);
    // Its place in the queue is free again.
    const d = await driver.offer(processJob('d', ['/bin/true']));
    expect(d.reply).toEqual({ accepted: true });
    expect(agent.running()).toEqual([a.key, c.key, d.key]);

    await writeFile(gate, '');
    const [ra, rc, rd] = await Promise.all([a, c, d].map((x) => driver.result(x.key)));
    for (const r of [ra!, rc!, rd!]) expect(r.outcome.ok).toBe(true);
    expect(startMs(rc!.outcome.record)).toBeGreaterThanOrEqual(endMs(ra!.outcome.record));
    expect(startMs(rd!.outcome.record)).toBeGreaterThanOrEqual(endMs(rc!.outcome.record));
    expect(driver.started.map((s) => s.key.job)).toEqual(['a', 'c', 'd']);
    // Give inotify's last events a turn before reading what appeared.
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toContain(scratchOf(a.key));
    expect(seen).toContain(scratchOf(c.key));
    expect(seen).not.toContain(scratchOf(b.key));
    expect(existsSync(path.join(workDir, 'scratch', scratchOf(b.key)))).toBe(false);
    // The killed attempt's result is resent, never rerun, if its offer comes again.
    expect((await driver.offer(processJob('b', ['/bin/true']))).reply.accepted).toBe(false);
  });

  it('stop() hands queued attempts back at once while the running one completes within the grace', async () => {
    const { driver, agent, workDir } = await start({ slots: 1, prefetch: 2 });
    const a = await holdSlot('a');
    const { gate } = a;
    const b = await driver.offer(processJob('b', ['/bin/true']));
    const c = await driver.offer(processJob('c', ['/bin/true']));
    let stopped = false;
    const stopping = agent.stop({ graceMs: 60_000 }).then(() => (stopped = true));
    const [rb, rc] = await Promise.all([driver.result(b.key), driver.result(c.key)]);
    for (const r of [rb, rc]) {
      expect(failureOf(r)).toEqual({
        kind: 'cancelled',
        message: 'agent agent-1 is stopping: queued attempt handed back',
      });
    }
    // Handed back while a still runs: the stop waits for a, not for them.
    expect(hasResult(a.key)).toBe(false);
    expect(stopped).toBe(false);
    expect(agent.running()).toEqual([a.key]);
    const late = await driver.offer(processJob('late', ['/bin/true']));
    expect(late.reply).toEqual({ accepted: false, reason: 'agent agent-1 is stopping' });

    await writeFile(gate, '');
    await stopping;
    expect((await driver.result(a.key)).outcome.ok).toBe(true);
    expect(driver.started.map((s) => s.key.job)).toEqual(['a']);
    for (const k of [b.key, c.key]) {
      expect(existsSync(path.join(workDir, 'scratch', scratchOf(k)))).toBe(false);
    }
  });

  it('drain() hands queued attempts back as draining and publishes a draining ad', async () => {
    const { driver, agent } = await start({ slots: 1, prefetch: 1 });
    const a = await holdSlot('a');
    const { gate } = a;
    const b = await driver.offer(processJob('b', ['/bin/true']));
    expect(b.reply).toEqual({ accepted: true });
    const draining = agent.drain({ graceMs: 60_000 });
    const rb = await driver.result(b.key);
    expect(failureOf(rb)).toEqual({
      kind: 'cancelled',
      message: 'agent agent-1 is draining: queued attempt handed back',
    });
    expect(hasResult(a.key)).toBe(false);
    await writeFile(gate, '');
    await draining;
    expect((await driver.result(a.key)).outcome.ok).toBe(true);
    expect(driver.ads.at(-1)).toMatchObject({ state: 'draining', prefetch: 1 });
  });

  it('advertises prefetch (through the wire codec too), and nothing without it', async () => {
    const { driver } = await start({ slots: 3, prefetch: 2 });
    await new Promise((r) => setImmediate(r));
    const ad = driver.ads[0];
    expect(ad).toMatchObject({ agent: 'agent-1', slots: 3, prefetch: 2 });
    expect(decodeAgentAd(encodeAgentAd(ad!)).prefetch).toBe(2);
    await t!.close();
    t = undefined;

    const plain = await start({ slots: 3 });
    await new Promise((r) => setImmediate(r));
    expect(plain.driver.ads[0]).toBeDefined();
    expect(plain.driver.ads[0]).not.toHaveProperty('prefetch');
    expect(decodeAgentAd(encodeAgentAd(plain.driver.ads[0]!))).not.toHaveProperty('prefetch');
    // Without prefetch, a busy agent's reason names the slots only.
    const busy = await plain.driver.offer(gated('x', path.join(plain.dir, 'gate')));
    const more = [];
    for (const id of ['y', 'z', 'w'])
      more.push(await plain.driver.offer(processJob(id, ['/bin/sleep', '30'])));
    expect(busy.reply.accepted).toBe(true);
    expect(more.at(-1)!.reply).toEqual({
      accepted: false,
      reason: 'no free slot on agent agent-1 (3/3 busy)',
    });
  });

  it.each([-1, 1.5])('start() refuses prefetch %s with INVALID_ARGUMENT', async (prefetch) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'aloft-prefetch-bad-'));
    const transport = createInProcessTransport();
    try {
      const agent = createAgent({
        id: 'bad',
        site: 'local',
        sites: [],
        transport,
        workDir: path.join(dir, 'agent'),
        slots: 1,
        prefetch,
      });
      const err = await agent.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AloftError);
      expect((err as AloftError).code).toBe('INVALID_ARGUMENT');
      expect((err as AloftError).problems).toEqual([
        {
          where: 'agent bad: prefetch',
          message: `must be a non-negative integer, got ${prefetch}`,
        },
      ]);
      // Nothing was created for an agent that never started.
      expect(existsSync(path.join(dir, 'agent'))).toBe(false);
    } finally {
      await transport.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('agent started notice', () => {
  it('a short job sends no started message; one running past the notice sends one', async () => {
    const { driver } = await start({ slots: 2, startedNoticeMs: 2000 });
    const quick = await driver.offer(processJob('quick', ['/bin/true']));
    expect((await driver.result(quick.key)).outcome.ok).toBe(true);
    // The notice timer ends with the run, before the result is sent: nothing can follow.
    expect(driver.started).toEqual([]);

    const slow = await holdSlot('slow');
    const { gate } = slow;
    // It cannot finish before the gate exists: the notice comes while it runs.
    const started = await driver.startedOf(slow.key);
    expect(started).toMatchObject({ key: slow.key, agent: 'agent-1', site: 'local' });
    expect(hasResult(slow.key)).toBe(false);
    await writeFile(gate, '');
    expect((await driver.result(slow.key)).outcome.ok).toBe(true);
    expect(driver.started.map((s) => s.key.job)).toEqual(['slow']);
  });
});

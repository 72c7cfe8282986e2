/**
 * `aloft agent` as a real process against a real nats-server; the test plays the scheduler
 * over a NATS transport with the protobuf codec (the wire the scheduler uses).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNatsTransport, type NatsTransport } from '../../lib/transport/index.js';
import { createProtobufCodec, type Heartbeat, type WireAgentAd } from '../../proto/codec/index.js';
import { subjects } from '../../proto/index.js';
import { BIN } from '../../test/helpers/cli.js';
import {
  natsServerAvailable,
  startNatsServer,
  type NatsServer,
} from '../../test/helpers/nats-server.js';
import { untilValue as until } from '../../test/helpers/proc.js';
import { createProtocolDriver, processJob, type ProtocolDriver } from '../testing/index.js';

const ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64' };

interface AgentProc {
  proc: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const procs: AgentProc[] = [];

function startAgent(args: string[], env: NodeJS.ProcessEnv = {}): AgentProc {
  const proc = spawn(process.execPath, [BIN, 'agent', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  proc.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.on('close', (code, signal) => r({ code, signal })),
  );
  const p = { proc, stderr: () => err, exited };
  procs.push(p);
  return p;
}

const run = natsServerAvailable && existsSync(BIN) ? describe : describe.skip;

run('aloft agent (real process, real nats-server)', () => {
  let server: NatsServer;
  let sched: NatsTransport;
  let dir: string;

  beforeAll(async () => {
    server = await startNatsServer();
    sched = await createNatsTransport({
      servers: server.url,
      name: 'test-scheduler',
      codec: createProtobufCodec(),
      reconnectWaitMs: 100,
      reconnectJitterMs: 50,
    });
    dir = await mkdtemp(path.join(tmpdir(), 'aloft-agentd-'));
  });

  afterEach(async () => {
    for (const p of procs.splice(0)) {
      if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
      await p.exited;
    }
  });

  afterAll(async () => {
    await sched?.close();
    await server?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function watchAgent(id: string): { driver: ProtocolDriver; heartbeats: Heartbeat[] } {
    const driver = createProtocolDriver(sched, id);
    const heartbeats: Heartbeat[] = [];
    sched.subscribe<Heartbeat>(subjects.heartbeat(id), (m) => heartbeats.push(m.data));
    return { driver, heartbeats };
  }

  const serving = (a: AgentProc, id: string): Promise<string> =>
    until(
      () => /agent \S+ serving site \S+ with \d+ slots, connected to \S+/.exec(a.stderr())?.[0],
      `agent ${id} to serve (stderr: ${a.stderr()})`,
    );

  it('advertises, heartbeats, runs an offered job and stops cleanly on SIGTERM', async () => {
    const id = 'agent-a';
    const { driver, heartbeats } = watchAgent(id);
    await sched.flush();
    const work = path.join(dir, 'a');
    const a = startAgent([
      '--nats',
      server.url,
      '--site',
      'edge-1',
      '--work',
      work,
      '--slots',
      '2',
      '--labels',
      'zone=north,tier=gold',
      '--id',
      id,
      '--heartbeat',
      '200ms',
    ]);
    expect(await serving(a, id)).toBe(
      `agent ${id} serving site edge-1 with 2 slots, connected to ${server.url}`,
    );
    const ad = (await until(() => driver.ads[0], 'the ad')) as WireAgentAd;
    expect(ad).toMatchObject({
      agent: id,
      site: 'edge-1',
      sites: [],
      slots: 2,
      labels: { zone: 'north', tier: 'gold' },
      os: 'linux',
      arch: ARCH[process.arch] ?? process.arch,
      gpus: 0,
    });
    expect(ad.cores).toBeGreaterThanOrEqual(1);
    expect(ad.memoryMb).toBeGreaterThan(64);
    expect(ad.diskFreeMb).toBeGreaterThan(0);
    expect(ad.executors).toContain('process');
    expect(ad.state).toBeUndefined();

    await until(() => (heartbeats.length >= 2 ? true : undefined), '2 heartbeats');
    expect(heartbeats[0]).toMatchObject({ agent: id, seq: 1, running: [], slotsInUse: 0 });
    expect(heartbeats[1]?.seq).toBe(2);
    expect(heartbeats[0]!.diskFreeMb).toBeGreaterThan(0);

    const store = path.join(dir, 'store-a');
    const job = processJob('hello', ['/bin/echo', 'hello', 'agent'], {
      stdout: 'hello.txt',
      outputs: [{ lfn: 'hello.txt', url: pathToFileURL(path.join(store, 'hello.txt')).href }],
    });
    const { key, reply } = await driver.offer(job, { timeoutMs: 10_000 });
    expect(reply).toEqual({ accepted: true });
    const { outcome } = await driver.result(key);
    expect(outcome.ok).toBe(true);
    // Done within the daemon's started notice (1 s): the result is its only report.
    expect(driver.started.filter((s) => s.key.job === 'hello')).toEqual([]);
    expect(outcome.record.exitCode).toBe(0);
    expect(await readFile(path.join(store, 'hello.txt'), 'utf8')).toBe('hello agent\n');
    // acked (autoAck): the outbox empties
    await until(() => (existsSync(path.join(work, 'outbox')) ? true : undefined), 'the outbox dir');
    for (const end = Date.now() + 10_000; (await readdir(path.join(work, 'outbox'))).length > 0;) {
      if (Date.now() > end) throw new Error('outbox not emptied after the ack');
      await new Promise((r) => setTimeout(r, 50));
    }

    a.proc.kill('SIGTERM');
    expect(await a.exited).toEqual({ code: 0, signal: null });
    expect(a.stderr()).toMatch(/"msg":"agent daemon stopped"/);
    driver.close();
  });

  it('drains on SIGTERM: draining ad, new offers rejected, the running attempt completes, exit 0', async () => {
    const id = 'agent-drain';
    const { driver } = watchAgent(id);
    await sched.flush();
    const work = path.join(dir, 'drain');
    const a = startAgent(['--nats', server.url, '--site', 'edge-1', '--work', work, '--id', id], {
      ALOFT_AGENT_DRAIN_GRACE: '30s',
      ALOFT_AGENT_HEARTBEAT: '1s',
    });
    await serving(a, id);
    await until(() => driver.ads[0], 'the ad');
    const { key, reply } = await driver.offer(processJob('nap', ['/bin/sleep', '2']));
    expect(reply).toEqual({ accepted: true });
    // Still running after the started notice (1 s): announced.
    expect(await driver.startedOf(key)).toMatchObject({ key, agent: id, site: 'edge-1' });

    a.proc.kill('SIGTERM');
    const draining = await until(
      () => driver.ads.find((x) => x.state === 'draining'),
      'an ad with state draining',
    );
    expect(draining).toMatchObject({ agent: id, site: 'edge-1' });
    const late = await driver.offer(processJob('late', ['/bin/true']));
    expect(late.reply).toEqual({ accepted: false, reason: `agent ${id} is draining` });

    const { outcome } = await driver.result(key);
    expect(outcome.ok).toBe(true);
    expect(outcome.record.exitCode).toBe(0);
    expect(await a.exited).toEqual({ code: 0, signal: null });
    // the result was acknowledged before the exit: nothing left in the outbox
    expect(await readdir(path.join(work, 'outbox'))).toEqual([]);
    driver.close();
  });

  it('hands an attempt back (cancelled) when the drain grace runs out', async () => {
    const id = 'agent-grace';
    const { driver } = watchAgent(id);
    await sched.flush();
    const a = startAgent([
      '--nats',
      server.url,
      '--site',
      'edge-1',
      '--work',
      path.join(dir, 'grace'),
      '--id',
      id,
      '--drain-grace',
      '300ms',
    ]);
    await serving(a, id);
    const { key } = await driver.offer(processJob('long', ['/bin/sleep', '60']));
    await driver.startedOf(key);
    a.proc.kill('SIGTERM');
    const { outcome } = await driver.result(key);
    if (outcome.ok) throw new Error('expected the attempt to be handed back');
    expect(outcome.failure).toEqual({
      kind: 'cancelled',
      message: `agent ${id} is draining: attempt handed back after the grace period`,
    });
    expect(await a.exited).toEqual({ code: 0, signal: null });
    driver.close();
  });

  it('survives a nats-server restart: heartbeats resume and the ad is sent again', async () => {
    const id = 'agent-restart';
    const { driver, heartbeats } = watchAgent(id);
    await sched.flush();
    const a = startAgent([
      '--nats',
      server.url,
      '--site',
      'edge-2',
      '--work',
      path.join(dir, 'restart'),
      '--id',
      id,
      '--heartbeat',
      '200ms',
    ]);
    await serving(a, id);
    await until(() => driver.ads[0], 'the first ad');
    await until(() => (heartbeats.length >= 1 ? true : undefined), 'a heartbeat');

    await server.restart();
    const adsBefore = driver.ads.length;
    const beatsBefore = heartbeats.length;
    await until(
      () => (driver.ads.length > adsBefore ? true : undefined),
      'the ad re-sent after the restart',
      30_000,
    );
    expect(driver.ads.at(-1)).toMatchObject({ agent: id, site: 'edge-2' });
    await until(
      () => (heartbeats.length >= beatsBefore + 2 ? true : undefined),
      'heartbeats after the restart',
      30_000,
    );
    // seq keeps counting within one process
    const seqs = heartbeats.map((h) => h.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(a.proc.exitCode).toBeNull();

    // and it still works
    const { key, reply } = await driver.offer(processJob('after', ['/bin/true']), {
      timeoutMs: 10_000,
    });
    expect(reply).toEqual({ accepted: true });
    expect((await driver.result(key)).outcome.ok).toBe(true);
    a.proc.kill('SIGTERM');
    expect(await a.exited).toEqual({ code: 0, signal: null });
    driver.close();
  });

  it('reports every bad key of file, env and flags at once and exits 2', async () => {
    const file = path.join(dir, 'agent.yml');
    await writeFile(
      file,
      ['site: edge-1', 'slots: 0', 'heartbeat: fast', 'slot: 3', `nats: ["${server.url}"]`].join(
        '\n',
      ) + '\n',
    );
    const a = startAgent(
      ['--config', file, '--work', path.join(dir, 'bad'), '--labels', 'novalue'],
      { ALOFT_AGENT_DRAIN_GRACE: 'soon' },
    );
    const { code } = await a.exited;
    const err = a.stderr();
    expect(code).toBe(2);
    expect(err).toMatch(/5 problems in the agent config/);
    expect(err).toContain(`${file}: slots`);
    expect(err).toContain(`${file}: heartbeat`);
    expect(err).toContain(`${file}: slot`);
    expect(err).toMatch(/did you mean 'slots'\?/);
    expect(err).toContain('env ALOFT_AGENT_DRAIN_GRACE');
    expect(err).toContain('--labels');
    expect(err).not.toMatch(/\n\s+at /); // no stack trace
  });
});

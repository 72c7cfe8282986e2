/**
 * `aloft agent` (real process, real nats-server) with its input cache: --cache-dir and
 * --cache-size are honoured, inputs are fetched once (counted at a loopback HTTP server),
 * and the agent re-advertises when its cache's contents change so the scheduler learns
 * what it holds (the ad's cache summary, over the protobuf wire).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsTransport, type NatsTransport } from '../../lib/transport/index.js';
import { createProtobufCodec } from '../../proto/codec/index.js';
import { BIN } from '../../test/helpers/cli.js';
import {
  startCountingHttpServer,
  type CountingHttpServer,
} from '../../test/helpers/counting-http-server.js';
import {
  natsServerAvailable,
  startNatsServer,
  type NatsServer,
} from '../../test/helpers/nats-server.js';
import { untilValue as until } from '../../test/helpers/proc.js';
import { createProtocolDriver, processJob } from '../testing/index.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const run = natsServerAvailable && existsSync(BIN) ? describe : describe.skip;

run('aloft agent input cache (real process, real nats-server)', () => {
  let nats: NatsServer;
  let sched: NatsTransport;
  let http: CountingHttpServer;
  let dir: string;
  let proc: ChildProcess | undefined;

  beforeAll(async () => {
    nats = await startNatsServer();
    sched = await createNatsTransport({
      servers: nats.url,
      name: 'test-scheduler',
      codec: createProtobufCodec(),
    });
    http = await startCountingHttpServer();
    dir = await mkdtemp(path.join(tmpdir(), 'aloft-agent-cache-'));
  });

  afterAll(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc!.once('close', r));
      proc.kill('SIGKILL');
      await exited;
    }
    await sched?.close();
    await nats?.dispose();
    await http?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('caches inputs where --cache-dir says, within --cache-size, and advertises what it holds', async () => {
    const id = 'agent-cache';
    const driver = createProtocolDriver(sched, id);
    await sched.flush();
    const cacheDir = path.join(dir, 'my-cache');
    let stderr = '';
    proc = spawn(
      process.execPath,
      [
        BIN,
        'agent',
        '--nats',
        nats.url,
        '--site',
        'edge-1',
        '--work',
        path.join(dir, 'work'),
        '--id',
        id,
        '--slots',
        '2',
        '--heartbeat',
        '200ms',
        '--cache-dir',
        cacheDir,
        '--cache-size',
        '1MiB',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    proc.stdout!.resume();
    const first = await until(() => driver.ads[0], `the first ad (stderr: ${stderr})`);
    expect(first.cache).toEqual({ entries: 0, bytes: 0, budgetBytes: 1024 * 1024, largest: [] });

    const body = randomBytes(100 * 1024);
    const url = http.put('/radar.dat', body);
    const input = {
      lfn: 'radar.dat',
      url,
      checksum: { type: 'sha256' as const, value: sha(body) },
    };
    for (const job of ['j1', 'j2']) {
      const { key, reply } = await driver.offer(
        processJob(job, ['/usr/bin/test', '-s', 'radar.dat'], { inputs: [input] }),
      );
      expect(reply.accepted).toBe(true);
      const r = await driver.result(key, 30_000);
      expect(r.outcome.ok).toBe(true);
      expect(r.outcome.record.transfers[0]?.cache).toBe(job === 'j1' ? 'miss' : 'hit');
    }
    expect(http.gets('/radar.dat')).toBe(1);
    expect(await readdir(path.join(cacheDir, 'entries'))).toContain(`sha256-${sha(body)}`);
    // Re-advertised on a heartbeat because the cache's contents changed.
    const ad = await until(
      () => driver.ads.find((a) => (a.cache?.entries ?? 0) > 0),
      'an ad listing the cached input',
    );
    expect(ad.cache).toEqual({
      entries: 1,
      bytes: body.length,
      budgetBytes: 1024 * 1024,
      largest: [{ urls: [url], bytes: body.length, sha256: sha(body) }],
    });
    driver.close();
  }, 60_000);
});

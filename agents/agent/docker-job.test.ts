/**
 * The agent routes a compute job whose executable names a docker container to the docker
 * executor: offered through the real transport, run in a real dockerd (started by the test
 * helper) from the locally imported busybox image, its declared output uploaded like any
 * other job's.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  importTestImage,
  startDockerd,
  TEST_IMAGE,
  type TestDockerd,
} from '../../test/helpers/dockerd.js';
import { createDockerExecutor } from '../executors/index.js';
import { processJob, startTestAgent, type TestAgent } from '../testing/index.js';

let d: TestDockerd;
let t: TestAgent | undefined;

beforeAll(async () => {
  d = await startDockerd();
  await importTestImage(d.docker);
}, 120_000);

afterAll(async () => {
  await t?.close();
  await d?.stop();
});

describe('agent with a docker container job', () => {
  it('runs it in the container and uploads its declared output', async () => {
    t = await startTestAgent({
      executors: { docker: createDockerExecutor({ socketPath: d.socketPath }) },
    });
    const store = pathToFileURL(path.join(t.dir, 'store')).href + '/';
    const job = processJob('boxed', ['echo', 'hello from', 'a container'], {
      executable: {
        name: 'echo',
        pfn: 'echo',
        type: 'installed',
        container: { name: 'bb', type: 'docker', image: `docker:///${TEST_IMAGE}`, mounts: [] },
      },
      stdout: 'greeting.txt',
      outputs: [{ lfn: 'greeting.txt', url: `${store}greeting.txt` }],
    });
    const { outcome } = await t.driver.result((await t.driver.offer(job)).key);
    if (!outcome.ok) throw new Error(`attempt failed: ${outcome.failure.message}`);
    expect(outcome.record.executor).toBe('docker');
    expect(outcome.record.exitCode).toBe(0);
    expect(await readFile(path.join(t.dir, 'store', 'greeting.txt'), 'utf8')).toBe(
      'hello from a container\n',
    );
    expect(outcome.record.files).toContainEqual(
      expect.objectContaining({ lfn: 'greeting.txt', link: 'output', size: 23 }),
    );
  });
});

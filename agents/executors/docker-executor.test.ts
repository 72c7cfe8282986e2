/**
 * The docker executor against a real dockerd (started by the test unless one is running)
 * with the locally imported busybox image; real containers, real files, no registry.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logging/index.js';
import type { PlannedJob, Resources } from '../../proto/index.js';
import {
  importTestImage,
  startDockerd,
  TEST_IMAGE,
  type TestDockerd,
} from '../../test/helpers/dockerd.js';
import { plannedJob } from '../testing/index.js';
import { createDockerExecutor, DOCKER_LABELS, type DockerExecutor } from './docker-executor.js';
import type { ExecOutcome } from './executor.js';

const AGENT = `dtest-${process.pid}`;

let d: TestDockerd;
let exec: DockerExecutor;
let tmp: string;

beforeAll(async () => {
  d = await startDockerd();
  await importTestImage(d.docker);
  exec = createDockerExecutor({ socketPath: d.socketPath, killGraceMs: 1000 });
  tmp = await mkdtemp(path.join(os.tmpdir(), 'aloft-docker-exec-'));
}, 120_000);

afterAll(async () => {
  // Leave nothing behind even when a test failed half-way.
  await exec?.sweep(AGENT).catch(() => undefined);
  await d?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 60_000);

let n = 0;
async function scratchDir(): Promise<string> {
  const dir = path.join(tmp, `s${++n}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

function dockerJob(
  id: string,
  argv: [string, ...string[]],
  rest: Partial<PlannedJob> & { image?: string; mounts?: string[]; res?: Partial<Resources> } = {},
): PlannedJob {
  const { image, mounts, res, ...job } = rest;
  const [pfn, ...args] = argv;
  return plannedJob({
    id,
    executable: {
      name: pfn,
      pfn,
      type: 'installed',
      container: {
        name: 'bb',
        type: 'docker',
        image: image ?? `docker:///${TEST_IMAGE}`,
        mounts: mounts ?? [],
      },
    },
    args,
    ...job,
    resources: { cores: 1, memoryMb: 0, diskMb: 0, runtimeSec: 0, gpus: 0, ...res },
  });
}

async function runJob(
  job: PlannedJob,
  opts: { scratch?: string; signal?: AbortSignal; agent?: string; executor?: DockerExecutor } = {},
): Promise<{ out: ExecOutcome; scratch: string }> {
  const scratch = opts.scratch ?? (await scratchDir());
  const out = await (opts.executor ?? exec).run({
    job,
    key: { job: job.id, attempt: 1, epoch: 1 },
    agent: opts.agent ?? AGENT,
    site: 'local',
    scratch,
    signal: opts.signal ?? new AbortController().signal,
    logger: silentLogger,
  });
  return { out, scratch };
}

async function containersOf(agent: string): Promise<number> {
  const list = await d.docker.listContainers({
    all: true,
    filters: { label: [`${DOCKER_LABELS.agent}=${agent}`] },
  });
  return list.length;
}

describe('docker executor', () => {
  it('passes argv literally, without a shell', async () => {
    const tricky = ['a b', "it's", '"q"', '$(rm -rf /)', '`id`', '*', '; echo no'];
    const { out } = await runJob(dockerJob('argv', ['printf', '[%s]\\n', ...tricky]));
    expect(out.failure).toBeUndefined();
    expect(out.executor).toBe('docker');
    expect(out.argv).toEqual(['printf', '[%s]\\n', ...tricky]);
    expect(out.stdoutTail).toBe(tricky.map((a) => `[${a}]\n`).join(''));
    expect(out.exitCode).toBe(0);
    expect(out.signal).toBeNull();
  });

  it("replaces the image's entrypoint: the job's executable is what runs", async () => {
    const base = await d.docker.createContainer({ Image: TEST_IMAGE, Cmd: ['true'] });
    await base.commit({
      repo: 'aloft-test/entrypoint',
      tag: '1',
      changes: 'ENTRYPOINT ["/bin/false"]',
    });
    await base.remove();
    const { out } = await runJob(
      dockerJob('entry', ['echo', 'ran'], { image: 'docker:///aloft-test/entrypoint:1' }),
    );
    expect(out.failure).toBeUndefined();
    expect(out.stdoutTail).toBe('ran\n');
    await d.docker.getImage('aloft-test/entrypoint:1').remove();
  });

  it('reports a non-zero exit code as an application failure, with stderr', async () => {
    const { out, scratch } = await runJob(
      dockerJob('exit3', ['sh', '-c', 'echo bad thing >&2; exit 3']),
    );
    expect(out.failure).toEqual({
      kind: 'application',
      message: 'job exit3 (sh) exited with code 3',
    });
    expect(out.exitCode).toBe(3);
    expect(out.stderrTail).toBe('bad thing\n');
    expect(await readFile(path.join(scratch, '.aloft.stderr'), 'utf8')).toBe('bad thing\n');
  });

  it('runs in scratch: reads a staged input and stdin, writes stdout to an lfn and an output owned by the agent', async () => {
    const scratch = await scratchDir();
    await writeFile(path.join(scratch, 'in.txt'), 'one\ntwo\nthree\n');
    await writeFile(path.join(scratch, 'stdin.txt'), 'x'.repeat(70_000));
    await mkdir(path.join(scratch, 'sub'));
    const { out } = await runJob(
      dockerJob('io', ['sh', '-c', 'pwd; cp in.txt sub/copy.txt; wc -c; echo err >&2'], {
        stdin: 'stdin.txt',
        stdout: 'logs/out.txt',
        stderr: 'logs/err.txt',
      }),
      { scratch },
    );
    expect(out.failure).toBeUndefined();
    const text = await readFile(path.join(scratch, 'logs', 'out.txt'), 'utf8');
    expect(text).toBe(`${scratch}\n70000\n`);
    expect(out.stdoutTail).toBe(text);
    expect(out.stdoutBytes).toBe(Buffer.byteLength(text));
    expect(await readFile(path.join(scratch, 'logs', 'err.txt'), 'utf8')).toBe('err\n');
    expect(out.stderrTail).toBe('err\n');
    const copy = path.join(scratch, 'sub', 'copy.txt');
    expect(await readFile(copy, 'utf8')).toBe('one\ntwo\nthree\n');
    const st = await stat(copy);
    expect(st.uid).toBe(process.getuid?.());
    expect(st.gid).toBe(process.getgid?.());
  });

  it('fails with a data failure when the stdin file is missing', async () => {
    const { out } = await runJob(dockerJob('nostdin', ['cat'], { stdin: 'absent.txt' }));
    expect(out.failure).toMatchObject({ kind: 'data', missingFiles: ['absent.txt'] });
  });

  it('gives the job a minimal environment, HOME in scratch, and the user from the profile', async () => {
    const { out, scratch } = await runJob(
      dockerJob('env', ['sh', '-c', 'env; id -u; id -g'], {
        env: { GREETING: 'hello world' },
        profiles: { aloft: { 'docker.user': '1234:2345' } },
      }),
    );
    expect(out.failure).toBeUndefined();
    const lines = out.stdoutTail.trim().split('\n');
    expect(lines).toContain('GREETING=hello world');
    expect(lines).toContain('ALOFT_JOB_ID=env');
    expect(lines).toContain('ALOFT_ATTEMPT=1');
    expect(lines).toContain(`ALOFT_SCRATCH=${scratch}`);
    expect(lines).toContain(`HOME=${scratch}`);
    expect(lines).toContain(`TMPDIR=${scratch}`);
    expect(lines.slice(-2)).toEqual(['1234', '2345']);
    // Nothing of the agent's own environment leaks in beyond the minimal base.
    expect(lines.some((l) => l.startsWith('DOCKER_HOST=') || l.startsWith('VITEST'))).toBe(false);
  });

  it('has no network but loopback', async () => {
    const { out } = await runJob(dockerJob('net', ['cat', '/proc/net/dev']));
    expect(out.failure).toBeUndefined();
    const ifaces = out.stdoutTail
      .split('\n')
      .slice(2)
      .filter((l) => l.includes(':'))
      .map((l) => l.split(':')[0]?.trim());
    expect(ifaces).toEqual(['lo']);
  });

  it('rejects any network but none or host', async () => {
    const { out } = await runJob(
      dockerJob('bridge', ['true'], { profiles: { aloft: { 'docker.network': 'bridge' } } }),
    );
    expect(out.failure?.kind).toBe('infrastructure');
    expect(out.failure?.message).toMatch(/aloft.docker.network is 'bridge'; only none/);
  });

  it('runs with dropped capabilities and no new privileges', async () => {
    const { out } = await runJob(
      dockerJob('caps', ['grep', '-E', '^(CapEff|NoNewPrivs)', '/proc/self/status']),
    );
    expect(out.failure).toBeUndefined();
    expect(out.stdoutTail).toMatch(/CapEff:\s+0000000000000000/);
    expect(out.stdoutTail).toMatch(/NoNewPrivs:\s+1/);
  });

  it('mounts extra host directories read-only, and never a docker socket', async () => {
    const data = path.join(tmp, 'data');
    await mkdir(data, { recursive: true });
    await writeFile(path.join(data, 'x.txt'), 'shared\n');
    const { out } = await runJob(
      dockerJob('mnt', ['sh', '-c', 'cat /data/x.txt; touch /data/y 2>/dev/null || echo ro'], {
        mounts: [`${data}:/data/:ro`],
      }),
    );
    expect(out.failure).toBeUndefined();
    expect(out.stdoutTail).toBe('shared\nro\n');

    const sockDir = path.dirname(d.socketPath);
    const { out: bad } = await runJob(
      dockerJob('sock', ['true'], { mounts: [`${sockDir}:/d`, '/no/such/dir:/e'] }),
    );
    expect(bad.failure?.kind).toBe('infrastructure');
    expect(bad.failure?.message).toMatch(/is or contains a docker socket/);
    expect(bad.failure?.message).toMatch(/mount source \/no\/such\/dir does not exist/);
  });

  it('reports usage from the container cgroup', async () => {
    const { out } = await runJob(
      dockerJob('usage', ['sh', '-c', 'x=$(head -c 20000000 /dev/zero | tr "\\0" a); sleep 3']),
    );
    expect(out.failure).toBeUndefined();
    expect(out.maxRssKb).toBeGreaterThan(15_000);
    expect(out.utimeMs + out.stimeMs).toBeGreaterThan(0);
  });

  it('kills a job over its memory limit and says so', async () => {
    const { out } = await runJob(
      dockerJob('oom', ['tail', '/dev/zero'], { res: { memoryMb: 32 } }),
    );
    expect(out.signal).toBe('SIGKILL');
    expect(out.exitCode).toBeNull();
    expect(out.failure?.kind).toBe('application');
    expect(out.failure?.message).toMatch(
      /job oom \(tail\) was killed \(SIGKILL\) for exceeding its memory limit of 32 MB/,
    );
  });

  it('stops and removes the container when the attempt is aborted', async () => {
    const ac = new AbortController();
    const agent = `${AGENT}-abort`;
    const running = runJob(dockerJob('abort', ['sleep', '600']), { signal: ac.signal, agent });
    for (;;) {
      const list = await d.docker.listContainers({
        filters: { label: [`${DOCKER_LABELS.attempt}=abort.1`], status: ['running'] },
      });
      if (list.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    ac.abort();
    const { out } = await running;
    expect(out.signal).toBe('SIGTERM'); // docker-init forwards docker stop's SIGTERM
    expect(out.failure?.message).toMatch(/job abort \(sleep\) was killed by signal SIGTERM/);
    expect(await containersOf(agent)).toBe(0);
  });

  it('throws the abort reason when aborted before the container starts', async () => {
    const ac = new AbortController();
    ac.abort(new Error('halted'));
    await expect(runJob(dockerJob('early', ['true']), { signal: ac.signal })).rejects.toThrow(
      'halted',
    );
  });

  it('fails fast when the image is not present (never pulls)', async () => {
    const { out } = await runJob(
      dockerJob('noimg', ['true'], { image: 'docker:///aloft-test/nope:1' }),
    );
    expect(out.failure).toEqual({
      kind: 'infrastructure',
      code: 'NOT_FOUND',
      message: expect.stringMatching(
        new RegExp(
          `^image aloft-test/nope:1 is not present on agent ${AGENT} \\(no registry pull\\)`,
        ),
      ) as string,
    });
    await expect(d.docker.getImage('aloft-test/nope:1').inspect()).rejects.toThrow();
  });

  it('names a missing executable as an infrastructure failure', async () => {
    const { out } = await runJob(dockerJob('noexe', ['/opt/nothing/here', 'x']));
    expect(out.failure).toMatchObject({
      kind: 'infrastructure',
      code: 'ENOENT',
      message: `executable /opt/nothing/here not found in image ${TEST_IMAGE} on agent ${AGENT}`,
    });
  });

  it('reports an unreachable daemon as an infrastructure failure', async () => {
    const gone = createDockerExecutor({ socketPath: path.join(tmp, 'no-daemon.sock') });
    const { out } = await runJob(dockerJob('nodaemon', ['true']), { executor: gone });
    expect(out.failure?.kind).toBe('infrastructure');
    expect(out.failure?.code).toBe('UNAVAILABLE');
    expect(out.failure?.message).toMatch(
      /^docker daemon at unix:\/\/.*no-daemon.sock is unreachable from agent/,
    );
  });

  it('removes stale containers of the same agent id before its first attempt', async () => {
    const agent = `${AGENT}-stale`;
    const stale = await d.docker.createContainer({
      Image: TEST_IMAGE,
      Cmd: ['sleep', '600'],
      Labels: { [DOCKER_LABELS.agent]: agent, [DOCKER_LABELS.attempt]: 'old.1' },
      HostConfig: { NetworkMode: 'none' },
    });
    await stale.start();
    expect(await containersOf(agent)).toBe(1);
    const fresh = createDockerExecutor({ socketPath: d.socketPath });
    const { out } = await runJob(dockerJob('after-crash', ['true']), { agent, executor: fresh });
    expect(out.failure).toBeUndefined();
    expect(await containersOf(agent)).toBe(0);
  });

  it('leaves no containers behind', async () => {
    expect(await containersOf(AGENT)).toBe(0);
  });
});

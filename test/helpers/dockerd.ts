/**
 * A Docker daemon for tests, and the local test image.
 *
 * `startDockerd()` uses the daemon `docker info` reaches (DOCKER_HOST or the default
 * socket) when there is one; otherwise it starts a private `/usr/sbin/dockerd` with no
 * bridge and no iptables, its own data root, exec root, pidfile and unix socket in a temp
 * dir, and waits until it answers. `stop()` stops only a daemon this helper started (by
 * its pid: SIGTERM, which also stops the containerd it manages; SIGKILL after 20 s) and
 * removes its temp dir.
 *
 * `importTestImage()` builds `aloft-test/busybox:1` — a rootfs with the static
 * /bin/busybox and its applet symlinks, imported with the Engine API (no registry is
 * reachable; nothing is ever pulled). Skipped when the image is already there.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const run = promisify(execFile);

export const TEST_IMAGE = 'aloft-test/busybox:1';
export const DOCKERD = '/usr/sbin/dockerd';
export const BUSYBOX = '/bin/busybox';

/** Applets linked in the test image. */
const APPLETS = [
  'sh',
  'cat',
  'sleep',
  'echo',
  'printf',
  'wc',
  'ls',
  'true',
  'false',
  'head',
  'tail',
  'env',
  'id',
  'dd',
  'touch',
  'mkdir',
  'rm',
  'cp',
  'stat',
  'ip',
  'grep',
  'sed',
  'tr',
  'yes',
  'kill',
  'pwd',
  'test',
  'seq',
];

export interface TestDockerd {
  /** DOCKER_HOST form: unix:///.../docker.sock */
  host: string;
  socketPath: string;
  docker: Docker;
  /** True when this helper started the daemon (and stop() will stop it). */
  started: boolean;
  stop(): Promise<void>;
}

function socketOf(dockerHost: string | undefined): string | undefined {
  if (!dockerHost) return '/var/run/docker.sock';
  return dockerHost.startsWith('unix://') ? dockerHost.slice('unix://'.length) : undefined;
}

async function existingDaemon(): Promise<TestDockerd | undefined> {
  const socketPath = socketOf(process.env['DOCKER_HOST']);
  if (!socketPath) return undefined;
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 10_000 });
  } catch {
    return undefined;
  }
  return {
    host: `unix://${socketPath}`,
    socketPath,
    docker: new Docker({ socketPath }),
    started: false,
    stop: async () => undefined,
  };
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

export async function startDockerd(timeoutMs = 60_000): Promise<TestDockerd> {
  const existing = await existingDaemon();
  if (existing) return existing;

  const dir = await mkdtemp(path.join(os.tmpdir(), 'aloft-dockerd-'));
  const socketPath = path.join(dir, 'docker.sock');
  const logFile = path.join(dir, 'dockerd.log');
  const logFd = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(
      DOCKERD,
      [
        '--bridge=none',
        '--iptables=false',
        '--ip6tables=false',
        `--data-root=${path.join(dir, 'data')}`,
        `--exec-root=${path.join(dir, 'exec')}`,
        `--pidfile=${path.join(dir, 'dockerd.pid')}`,
        `--host=unix://${socketPath}`,
      ],
      { stdio: ['ignore', logFd, logFd] },
    );
  } finally {
    closeSync(logFd);
  }
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const gone = exited(child);
  const docker = new Docker({ socketPath });

  async function stop(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await gone;
      clearTimeout(timer);
    }
    // A SIGKILLed dockerd leaves its containerd behind: stop that one too, by its pid.
    const pid = Number(
      await readFile(path.join(dir, 'exec', 'containerd', 'containerd.pid'), 'utf8').catch(
        () => '',
      ),
    );
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone already (the normal case)
      }
    }
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await docker.ping();
      break;
    } catch {
      // not up yet
    }
    const failed = await Promise.race([
      spawnError.then((e) => `cannot start ${DOCKERD}: ${e.message}`),
      gone.then(() => `${DOCKERD} exited during startup`),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)),
    ]);
    if (failed !== undefined || Date.now() > deadline) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      await stop();
      throw new Error(
        `${failed ?? `${DOCKERD} did not answer within ${timeoutMs} ms`}\n${log.slice(-2000)}`,
      );
    }
  }
  return { host: `unix://${socketPath}`, socketPath, docker, started: true, stop };
}

/** Imports TEST_IMAGE (busybox rootfs) unless the daemon has it already. */
export async function importTestImage(docker: Docker): Promise<string> {
  try {
    await docker.getImage(TEST_IMAGE).inspect();
    return TEST_IMAGE;
  } catch {
    // not there: build it
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'aloft-image-'));
  try {
    const root = path.join(dir, 'rootfs');
    for (const d of ['bin', 'tmp', 'etc', 'proc', 'sys', 'dev']) {
      await mkdir(path.join(root, d), { recursive: true });
    }
    await copyFile(BUSYBOX, path.join(root, 'bin', 'busybox'));
    for (const a of APPLETS) await symlink('busybox', path.join(root, 'bin', a));
    await writeFile(path.join(root, 'etc', 'passwd'), 'root:x:0:0:root:/tmp:/bin/sh\n');
    await writeFile(path.join(root, 'etc', 'group'), 'root:x:0:\n');
    const tar = path.join(dir, 'rootfs.tar');
    await run('tar', ['-C', root, '--numeric-owner', '-cf', tar, '.']);
    const [repo, tag] = TEST_IMAGE.split(':');
    const stream = await docker.importImage(tar, { repo, tag });
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await docker.getImage(TEST_IMAGE).inspect();
  return TEST_IMAGE;
}

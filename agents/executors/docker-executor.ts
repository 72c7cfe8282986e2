/**
 * The `docker` executor: runs a compute job whose transformation names a container of
 * type docker, one container per attempt, through the Docker Engine API (dockerode). It
 * mirrors the process executor's semantics so a job behaves the same in or out of a
 * container:
 *
 *  - Cmd = [executable, ...args] as an array (no shell); a stageable executable is fetched
 *    into scratch and run as `./name`. The image's entrypoint is replaced by docker-init
 *    (tini, `init` option) which forwards signals and reaps zombies.
 *  - The scratch dir is bind-mounted at its own path and is the working directory, so
 *    lfn-relative argv and the staged inputs (hard links in scratch) work unchanged; extra
 *    mounts come from the container's `mounts` (validated; never a docker socket).
 *  - Environment: the process executor's `jobEnvironment`, except that PATH is the image's
 *    own unless the job (or the `path` option) sets one, and HOME is scratch unless the job
 *    sets it (the agent's home does not exist in the container).
 *  - stdin from the `stdin` lfn (streamed over the attach connection, then closed);
 *    stdout/stderr demultiplexed into the `stdout`/`stderr` lfns or `.aloft.stdout/.stderr`.
 *    Docker copies the two pipes independently: when both name the same file, their lines
 *    may interleave in a different order than the job wrote them.
 *  - Isolation: network none (profile `aloft.docker.network: host` allowed), CapDrop ALL,
 *    no-new-privileges, PidsLimit 4096, user = the agent's uid:gid (profile
 *    `aloft.docker.user` overrides), NanoCpus = cores (capped at the daemon's CPUs),
 *    Memory = memoryMb with no extra swap.
 *  - Never pulls: a missing image is an infrastructure failure naming image and agent.
 *  - Stopping (ctx.signal): `docker stop` with the grace period (SIGTERM, then SIGKILL).
 *  - The container is always removed (success, failure, abort); every container carries
 *    labels `aloft.agent`, `aloft.attempt=<job>.<attempt>`, `aloft.site`, and the first
 *    attempt of an agent id first removes containers left by a crashed earlier process of
 *    the same agent id.
 *  - Usage: sampled from the daemon's stats stream (see docker/usage-sampler.ts).
 *  - Exit: docker reports one exit status; a status above 128 is not turned into a signal
 *    (a job may exit 130 itself) except when the kernel OOM-killed the job (SIGKILL) or the
 *    executor stopped it (128 + n → signal n).
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, realpath, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Duplex } from 'node:stream';
import Docker from 'dockerode';
import {
  containerSpec,
  createDemuxer,
  daemonAddress,
  daemonMessage,
  isUnreachable,
  sampleContainerUsage,
  statusOf,
  type BindMount,
  type DaemonAddress,
} from './docker/index.js';
import {
  emptyOutcome,
  fail,
  type ExecContext,
  type ExecOutcome,
  type Executor,
} from './executor.js';
import { commandOf, stdioPaths } from './job-command.js';
import { jobEnvironment } from './process-executor.js';
import { scratchPath } from './scratch-path.js';
import { readTail } from './tail.js';

export interface DockerExecutorOptions {
  /** Unix socket of the daemon (wins over `dockerHost` and DOCKER_HOST). */
  socketPath?: string;
  /** `unix:///path` or `tcp://host:port`; default DOCKER_HOST, else /var/run/docker.sock. */
  dockerHost?: string;
  /** Between SIGTERM and SIGKILL when an attempt is stopped (default 5000 ms; whole seconds). */
  killGraceMs?: number;
  /** PATH given to jobs; default: the image's own PATH. */
  path?: string;
  /** Run docker-init (tini) as PID 1 (default true): signals forwarded, zombies reaped. */
  init?: boolean;
  /** Remove stale containers of the same agent id before its first attempt (default true). */
  sweep?: boolean;
}

export interface DockerExecutor extends Executor {
  /** The daemon this executor talks to (for messages and tests). */
  readonly daemon: DaemonAddress;
  /**
   * Removes every container labelled `aloft.agent=<agent>` (left behind by a crashed
   * earlier process of that agent); returns how many. Run automatically before an agent's
   * first attempt unless the `sweep` option is false.
   */
  sweep(agent: string, signal?: AbortSignal): Promise<number>;
}

/** Labels set on every container, so leftovers can be found and removed. */
export const DOCKER_LABELS = {
  agent: 'aloft.agent',
  attempt: 'aloft.attempt',
  site: 'aloft.site',
} as const;

const PIDS_LIMIT = 4096;
/** After the container exits, how long its output may still take to arrive. */
const DRAIN_MS = 10_000;
/** tini's message when it cannot exec the job (exit 127 / 126). */
const TINI_EXEC = /\[FATAL tini \(\d+\)\] exec (.*) failed: (.*)/;

const SIGNALS = new Map<number, string>(
  Object.entries(os.constants.signals).map(([name, n]) => [n, name]),
);

function finished(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.closed) return resolve();
    stream.once('close', () => resolve());
    stream.end();
  });
}

/** Settles when the stream has ended, closed or failed. */
function ended(stream: Readable | Duplex): Promise<void> {
  return new Promise((resolve) => {
    if (stream.readableEnded || stream.destroyed) return resolve();
    const done = (): void => resolve();
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

export function createDockerExecutor(options: DockerExecutorOptions = {}): DockerExecutor {
  const daemon = daemonAddress(options);
  const docker = new Docker(daemon.options);
  const graceSec = Math.max(0, Math.ceil((options.killGraceMs ?? 5000) / 1000));
  const init = options.init ?? true;
  /** Per agent id: the sweep and the daemon's CPU count, done once before its first attempt. */
  const prepared = new Map<string, Promise<{ cpus: number }>>();

  async function sweep(agent: string, signal?: AbortSignal): Promise<number> {
    const list = await docker.listContainers({
      all: true,
      filters: { label: [`${DOCKER_LABELS.agent}=${agent}`] },
      abortSignal: signal,
    });
    await Promise.all(
      list.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch((e: unknown) => {
            if (statusOf(e) !== 404) throw e;
          }),
      ),
    );
    return list.length;
  }

  function prepare(ctx: ExecContext): Promise<{ cpus: number }> {
    let p = prepared.get(ctx.agent);
    if (!p) {
      p = (async () => {
        // Shared by concurrent attempts of the agent, so not tied to one attempt's signal.
        const info = (await docker.info()) as { NCPU?: number };
        if (options.sweep ?? true) {
          const n = await sweep(ctx.agent);
          if (n > 0) {
            ctx.logger.warn({ agent: ctx.agent, containers: n }, 'removed stale containers');
          }
        }
        return { cpus: info.NCPU ?? os.availableParallelism() };
      })();
      prepared.set(ctx.agent, p);
      // A failure (daemon down) is not remembered: the next attempt tries again.
      p.catch(() => prepared.delete(ctx.agent));
    }
    return p;
  }

  /** Host sides of extra mounts: exist, resolved through symlinks, never expose a socket. */
  async function checkMountSources(mounts: BindMount[], container: string): Promise<string[]> {
    const problems: string[] = [];
    const sock = daemon.socketPath;
    const socks = [sock, '/var/run/docker.sock', '/run/docker.sock'].filter(
      (s): s is string => s !== undefined,
    );
    const realSocks = await Promise.all(socks.map((s) => realpath(s).catch(() => s)));
    for (const m of mounts) {
      let real: string;
      try {
        real = await realpath(m.source);
      } catch {
        problems.push(`container ${container}: mount source ${m.source} does not exist`);
        continue;
      }
      const st = await stat(real);
      const exposes = [...socks, ...realSocks].some(
        (s) => s === real || s.startsWith(real === '/' ? '/' : `${real}/`),
      );
      if (st.isSocket() || exposes) {
        problems.push(
          `container ${container}: mount source ${m.source} is or contains a docker socket; containers never get the daemon socket`,
        );
        continue;
      }
      m.source = real;
    }
    return problems;
  }

  async function run(ctx: ExecContext): Promise<ExecOutcome> {
    const { job, scratch, agent } = ctx;
    const prefix = ctx.filePrefix ?? '.aloft';
    const exe = job.executable;
    const args = job.args ?? [];
    let outcome = emptyOutcome('docker', [exe?.pfn ?? '', ...args]);
    if (!exe) return fail(outcome, 'infrastructure', `job ${job.id} names no executable`);

    const { spec, problems } = containerSpec(job, scratch);
    if (!spec) {
      return fail(outcome, 'infrastructure', `job ${job.id}: ${problems.join('; ')}`, {
        code: 'INVALID_ARGUMENT',
      });
    }
    const containerName = exe.container?.name ?? spec.image;
    const mountProblems = await checkMountSources(spec.mounts, containerName);
    if (mountProblems.length > 0) {
      return fail(
        outcome,
        'infrastructure',
        `job ${job.id} on agent ${agent}: ${mountProblems.join('; ')}`,
        { code: 'INVALID_ARGUMENT' },
      );
    }

    const command = await commandOf(ctx, exe, outcome);
    if ('failed' in command) return command.failed;
    const { argv } = command;
    const argv0 = argv[0]!;
    outcome = { ...outcome, argv };

    const { stdoutPath, stderrPath } = stdioPaths(job, scratch, prefix);
    const stdinPath = job.stdin ? scratchPath(scratch, job.stdin) : undefined;
    if (stdinPath !== undefined && job.stdin !== undefined) {
      try {
        await (await open(stdinPath, 'r')).close();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        return fail(outcome, 'data', `stdin file ${job.stdin} of job ${job.id} is missing`, {
          missingFiles: [job.stdin],
        });
      }
    }

    ctx.signal.throwIfAborted();
    const unreachable = (e: unknown): ExecOutcome =>
      fail(
        outcome,
        'infrastructure',
        `docker daemon at ${daemon.url} is unreachable from agent ${agent}: ${daemonMessage(e)}`,
        { code: 'UNAVAILABLE' },
      );
    let cpus: number;
    try {
      ({ cpus } = await prepare(ctx));
    } catch (e) {
      ctx.signal.throwIfAborted();
      if (isUnreachable(e)) return unreachable(e);
      return fail(
        outcome,
        'infrastructure',
        `docker daemon at ${daemon.url} failed for agent ${agent}: ${daemonMessage(e)}`,
        { code: 'UNAVAILABLE' },
      );
    }

    const env = jobEnvironment(job, ctx, options.path ?? '');
    const own = { ...(job.profiles?.['env'] ?? {}), ...(job.env ?? {}) };
    if (options.path === undefined && own['PATH'] === undefined) delete env['PATH'];
    if (own['HOME'] === undefined) env['HOME'] = scratch;

    const { cores, memoryMb } = job.resources;
    const rand = Math.random().toString(36).slice(2, 8);
    let container: Docker.Container;
    try {
      container = await docker.createContainer({
        name: `aloft.${agent}.${job.id}.${ctx.key.attempt}.${rand}`,
        Image: spec.image,
        Entrypoint: [],
        Cmd: argv,
        WorkingDir: scratch,
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        User: spec.user,
        Labels: {
          [DOCKER_LABELS.agent]: agent,
          [DOCKER_LABELS.attempt]: `${job.id}.${ctx.key.attempt}`,
          [DOCKER_LABELS.site]: ctx.site,
        },
        Tty: false,
        AttachStdin: stdinPath !== undefined,
        AttachStdout: true,
        AttachStderr: true,
        OpenStdin: stdinPath !== undefined,
        StdinOnce: stdinPath !== undefined,
        NetworkDisabled: spec.network === 'none',
        StopTimeout: graceSec,
        HostConfig: {
          Init: init,
          NetworkMode: spec.network,
          Mounts: [
            { Type: 'bind', Source: scratch, Target: scratch, ReadOnly: false },
            ...spec.mounts.map((m) => ({
              Type: 'bind' as const,
              Source: m.source,
              Target: m.target,
              ReadOnly: m.readOnly,
            })),
          ],
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          PidsLimit: PIDS_LIMIT,
          ...(cores > 0 ? { NanoCpus: Math.round(Math.min(cores, cpus) * 1e9) } : {}),
          ...(memoryMb > 0
            ? { Memory: memoryMb * 1024 * 1024, MemorySwap: memoryMb * 1024 * 1024 }
            : {}),
        },
      });
    } catch (e) {
      if (isUnreachable(e)) return unreachable(e);
      if (statusOf(e) === 404) {
        return fail(
          outcome,
          'infrastructure',
          `image ${spec.image} is not present on agent ${agent} (no registry pull); load it into the agent's docker daemon first (docker load / docker import)`,
          { code: 'NOT_FOUND' },
        );
      }
      return fail(
        outcome,
        'infrastructure',
        `cannot create a container from ${spec.image} for job ${job.id} on agent ${agent}: ${daemonMessage(e)}`,
      );
    }

    const log = ctx.logger.child({
      job: job.id,
      attempt: ctx.key.attempt,
      container: container.id,
    });
    const files: WriteStream[] = [];
    let stream: Duplex | undefined;
    let stopping = false;
    const timers: NodeJS.Timeout[] = [];
    const onAbort = (): void => {
      stopping = true;
      log.debug('stopping container');
      container.stop({ t: graceSec }).catch((e: unknown) => {
        if (statusOf(e) === 304 || statusOf(e) === 404) return; // stopped or gone already
        log.warn({ err: daemonMessage(e) }, 'docker stop failed; killing');
        container.kill().catch(() => undefined);
      });
    };
    try {
      await mkdir(path.dirname(stdoutPath), { recursive: true });
      await mkdir(path.dirname(stderrPath), { recursive: true });
      const out = createWriteStream(stdoutPath);
      files.push(out);
      const err = stderrPath === stdoutPath ? out : createWriteStream(stderrPath);
      if (err !== out) files.push(err);

      // Attach before start so no output is lost; with stdin, a hijacked two-way connection.
      const attached = (await container.attach({
        stream: true,
        stdout: true,
        stderr: true,
        stdin: stdinPath !== undefined,
        hijack: stdinPath !== undefined,
      })) as Duplex;
      stream = attached;
      const demux = createDemuxer(out, err);
      let streamError: Error | undefined;
      demux.on('error', (e) => {
        streamError = e;
        attached.destroy();
      });
      attached.pipe(demux);
      const drained = ended(attached);

      ctx.signal.throwIfAborted();
      const waited = container.wait();
      // Settles (possibly rejected) only after an early return has removed the container.
      waited.catch(() => undefined);
      try {
        await container.start();
      } catch (e) {
        if (isUnreachable(e)) return unreachable(e);
        const msg = daemonMessage(e);
        if (/executable file not found|no such file or directory/i.test(msg)) {
          return fail(
            outcome,
            'infrastructure',
            `executable ${argv0} not found in image ${spec.image} on agent ${agent}`,
            { code: 'ENOENT' },
          );
        }
        return fail(
          outcome,
          'infrastructure',
          `cannot start the container of job ${job.id} on agent ${agent}: ${msg}`,
        );
      }
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      if (ctx.signal.aborted) onAbort();
      const statsStream = (await container
        .stats({ stream: true })
        .catch(() => undefined)) as unknown as Readable | undefined;
      const sampler = statsStream ? sampleContainerUsage(statsStream) : undefined;
      if (stdinPath !== undefined) {
        const input = createReadStream(stdinPath);
        input.on('error', () => attached.end());
        // The container may exit without reading all of its input: an EPIPE is not an error.
        attached.on('error', () => input.destroy());
        input.pipe(attached);
      }

      const status = (await waited) as { StatusCode: number };
      // Output still in flight arrives before the attach stream ends.
      await Promise.race([drained, new Promise<void>((r) => timers.push(setTimeout(r, DRAIN_MS)))]);
      attached.destroy();
      const usage = sampler?.stop() ?? { utimeMs: 0, stimeMs: 0, maxRssKb: 0 };
      if (!demux.writableEnded) demux.end();
      await Promise.all(files.map(finished));
      if (streamError) {
        return fail(
          outcome,
          'infrastructure',
          `output of job ${job.id} on agent ${agent} could not be read: ${streamError.message}`,
        );
      }
      const state = (await container.inspect()).State;
      const exit = state.ExitCode ?? status.StatusCode;

      const [so, se] = await Promise.all([
        readTail(stdoutPath),
        stderrPath === stdoutPath ? undefined : readTail(stderrPath),
      ]);
      outcome = {
        ...outcome,
        ...usage,
        stdoutTail: so.tail,
        stdoutBytes: so.bytes,
        stderrTail: se?.tail ?? '',
        stderrBytes: se?.bytes ?? 0,
      };

      if (state.OOMKilled) {
        outcome = { ...outcome, exitCode: null, signal: 'SIGKILL' };
        return fail(
          outcome,
          'application',
          memoryMb > 0
            ? `job ${job.id} (${argv0}) was killed (SIGKILL) for exceeding its memory limit of ${memoryMb} MB; request more memory (pegasus.memory) or use less`
            : `job ${job.id} (${argv0}) was killed (SIGKILL) by the out-of-memory killer on agent ${agent} (no memory limit was set; request memory with pegasus.memory)`,
        );
      }
      const sig = exit > 128 ? SIGNALS.get(exit - 128) : undefined;
      if (stopping && sig !== undefined) {
        outcome = { ...outcome, exitCode: null, signal: sig };
        return fail(outcome, 'application', `job ${job.id} (${argv0}) was killed by signal ${sig}`);
      }
      outcome = { ...outcome, exitCode: exit, signal: null };
      const tini =
        init && (exit === 127 || exit === 126) ? TINI_EXEC.exec(outcome.stderrTail) : null;
      if (tini) {
        const notFound = exit === 127;
        return fail(
          outcome,
          'infrastructure',
          notFound
            ? `executable ${argv0} not found in image ${spec.image} on agent ${agent}`
            : `executable ${argv0} cannot be run in image ${spec.image} on agent ${agent}: ${tini[2]}`,
          { code: notFound ? 'ENOENT' : 'EACCES' },
        );
      }
      if (exit !== 0) {
        return fail(outcome, 'application', `job ${job.id} (${argv0}) exited with code ${exit}`);
      }
      return outcome;
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      for (const t of timers) clearTimeout(t);
      stream?.destroy();
      for (const f of files) if (!f.closed) f.destroy();
      // Always removed — also after a failure or an abort (force stops a running one).
      await container.remove({ force: true, v: true }).catch((e: unknown) => {
        if (statusOf(e) !== 404) {
          log.warn({ err: daemonMessage(e) }, 'could not remove container');
        }
      });
    }
  }

  return { name: 'docker', daemon, sweep, run };
}

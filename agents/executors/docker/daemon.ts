/**
 * Where the Docker daemon is and how its errors read. The daemon is found from (first
 * wins) an explicit socket path, an explicit host URL, `DOCKER_HOST`, then the default
 * socket `/var/run/docker.sock`. Supported URLs: `unix:///path` and `tcp://host:port`
 * (plain HTTP — only for a daemon on loopback or behind a trusted link). Anything else is
 * invalid input (AloftError INVALID_ARGUMENT), reported when the executor is created.
 */
import Docker from 'dockerode';
import { AloftError } from '../../../lib/errors/index.js';

export interface DaemonAddress {
  /** For messages: `unix:///var/run/docker.sock`, `tcp://127.0.0.1:2375`. */
  url: string;
  /** The unix socket, when the daemon is reached through one (never mounted into jobs). */
  socketPath?: string;
  options: Docker.DockerOptions;
}

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export function daemonAddress(
  opts: { socketPath?: string; dockerHost?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): DaemonAddress {
  if (opts.socketPath) {
    return {
      url: `unix://${opts.socketPath}`,
      socketPath: opts.socketPath,
      options: { socketPath: opts.socketPath },
    };
  }
  const host = opts.dockerHost ?? env['DOCKER_HOST'];
  if (host) {
    if (host.startsWith('unix://')) {
      const socketPath = host.slice('unix://'.length);
      return { url: host, socketPath, options: { socketPath } };
    }
    const m = /^tcp:\/\/([^:/]+|\[[^\]]+\]):(\d+)\/?$/.exec(host);
    if (m?.[1] && m[2]) {
      return {
        url: host,
        options: { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]), protocol: 'http' },
      };
    }
    throw AloftError.invalid([
      {
        where: opts.dockerHost === undefined ? 'DOCKER_HOST' : 'docker host',
        message: `'${host}' is not a supported docker daemon address`,
        hint: 'use unix:///path/to/docker.sock or tcp://host:port',
      },
    ]);
  }
  return {
    url: `unix://${DEFAULT_DOCKER_SOCKET}`,
    socketPath: DEFAULT_DOCKER_SOCKET,
    options: { socketPath: DEFAULT_DOCKER_SOCKET },
  };
}

/** The shape of dockerode's errors: HTTP status + daemon message, or a socket errno. */
interface DockerodeError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  reason?: string;
  message?: string;
}

/** True when the daemon could not be reached at all (not an error it answered with). */
export function isUnreachable(e: unknown): boolean {
  const err = e as DockerodeError;
  return (
    err.statusCode === undefined &&
    [
      'ECONNREFUSED',
      'ENOENT',
      'EACCES',
      'ECONNRESET',
      'EPIPE',
      'ETIMEDOUT',
      'EHOSTUNREACH',
    ].includes(err.code ?? '')
  );
}

export function statusOf(e: unknown): number | undefined {
  return (e as DockerodeError).statusCode;
}

/** The daemon's own message (`No such image: x`), else the error's. */
export function daemonMessage(e: unknown): string {
  const err = e as DockerodeError;
  const m = err.json?.message ?? err.message ?? String(e);
  return m.replace(/^\(HTTP code \d+\)\s*[^-]*-\s*/, '').trim();
}

/**
 * What a docker attempt's container may look like, decided from the planned job before
 * anything touches the daemon: the image reference, the extra bind mounts, the network
 * mode and the user. Every problem is collected (one sentence each, naming the container,
 * the value and the fix) so a bad catalog entry is reported completely at once.
 *
 * Rules (DESIGN §8 "Containers: no network, dropped capabilities, no docker socket"):
 *  - image: `docker://` references (`docker:///rynge/montage:latest` → `rynge/montage:latest`)
 *    or bare references; other schemes (http://, file://, *.sif) are not docker images.
 *  - mounts: `/host:/container[:ro|:rw]`, both absolute, no `..` segments; the host side is
 *    resolved through symlinks by the executor, which refuses anything exposing a docker
 *    socket (see `checkMountSource`).
 *  - network: `none` unless profile `aloft.docker.network` says `host`.
 *  - user: the agent's uid:gid unless profile `aloft.docker.user` names `user[:group]`.
 */
import path from 'node:path';
import type { PlannedJob } from '../../../proto/index.js';

export interface BindMount {
  source: string;
  target: string;
  readOnly: boolean;
}

export interface ContainerSpec {
  image: string;
  mounts: BindMount[];
  network: 'none' | 'host';
  user: string;
}

const IMAGE_REF = /^[a-z0-9][a-z0-9._/:@-]*$/i;
const USER = /^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/;

/** `docker:///rynge/montage:latest` → `rynge/montage:latest`; undefined when not a docker ref. */
export function dockerImageRef(image: string): string | undefined {
  let ref = image.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(ref);
  if (scheme) {
    if (scheme[1]?.toLowerCase() !== 'docker') return undefined;
    ref = ref.slice(scheme[0].length).replace(/^\/+/, '');
  }
  if (!IMAGE_REF.test(ref) || ref.includes('..') || ref.endsWith('.sif')) return undefined;
  return ref;
}

function absoluteClean(p: string): boolean {
  return p.startsWith('/') && !p.includes('\0') && !p.split('/').includes('..');
}

/** Parses `/host:/container[:ro|:rw]`; returns the mount or a problem sentence. */
export function parseMount(spec: string, container: string): BindMount | string {
  const parts = spec.split(':');
  const [source, target, mode, ...rest] = parts;
  const bad = (why: string): string =>
    `container ${container}: mount '${spec}' ${why}; write it as /host/path:/container/path[:ro]`;
  if (source === undefined || target === undefined || rest.length > 0) {
    return bad('is not host:container[:ro]');
  }
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') {
    return bad(`has option '${mode}' (only ro or rw are allowed)`);
  }
  if (!absoluteClean(source) || !absoluteClean(target)) {
    return bad('must use absolute paths without ".." segments');
  }
  const norm = (p: string): string => path.posix.normalize(p).replace(/(.)\/+$/, '$1');
  return { source: norm(source), target: norm(target), readOnly: mode === 'ro' };
}

/** The agent's own uid:gid (containers write scratch files the agent can read and remove). */
export function agentUser(): string {
  return `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
}

/**
 * The container spec of a job, or the problems that prevent one. `scratch` is the attempt's
 * scratch dir: a mount must not cover it (it is bind-mounted at its own path).
 */
export function containerSpec(
  job: PlannedJob,
  scratch: string,
): { spec: ContainerSpec; problems: [] } | { spec?: undefined; problems: string[] } {
  const problems: string[] = [];
  const c = job.executable?.container;
  if (!c || c.type !== 'docker') {
    return {
      problems: [
        `job ${job.id} has no docker container (the docker executor runs only jobs whose transformation names a container of type docker)`,
      ],
    };
  }
  const image = dockerImageRef(c.image);
  if (image === undefined) {
    problems.push(
      `container ${c.name}: image '${c.image}' is not a docker image reference; use docker:///name:tag (image files and other schemes are not loaded)`,
    );
  }
  const mounts: BindMount[] = [];
  for (const m of c.mounts) {
    const parsed = parseMount(m, c.name);
    if (typeof parsed === 'string') {
      problems.push(parsed);
    } else if (parsed.target === scratch || parsed.target.startsWith(`${scratch}/`)) {
      problems.push(
        `container ${c.name}: mount '${m}' would cover the attempt's scratch directory; mount it somewhere else`,
      );
    } else {
      mounts.push(parsed);
    }
  }
  const aloft = job.profiles?.['aloft'] ?? {};
  const network = aloft['docker.network'] ?? 'none';
  if (network !== 'none' && network !== 'host') {
    problems.push(
      `job ${job.id}: profile aloft.docker.network is '${network}'; only none (the default) or host are allowed`,
    );
  }
  const user = aloft['docker.user'] ?? agentUser();
  if (!USER.test(user)) {
    problems.push(
      `job ${job.id}: profile aloft.docker.user is '${user}'; write user[:group] (names or numeric ids)`,
    );
  }
  if (problems.length > 0 || image === undefined) return { problems };
  return {
    spec: { image, mounts, network: network as 'none' | 'host', user },
    problems: [],
  };
}

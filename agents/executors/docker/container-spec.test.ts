/** Container spec validation: image refs, mounts, network and user profiles. */
import { describe, expect, it } from 'vitest';
import { plannedJob } from '../../testing/index.js';
import { agentUser, containerSpec, dockerImageRef, parseMount } from './container-spec.js';

const job = (image: string, mounts: string[] = [], aloft: Record<string, string> = {}) =>
  plannedJob({
    id: 'j1',
    executable: {
      name: 'x',
      pfn: '/bin/x',
      type: 'installed',
      container: { name: 'c1', type: 'docker', image, mounts },
    },
    profiles: { aloft },
  });

describe('dockerImageRef', () => {
  it('strips the docker:// scheme and leading slashes', () => {
    expect(dockerImageRef('docker:///rynge/montage:latest')).toBe('rynge/montage:latest');
    expect(dockerImageRef('docker://busybox')).toBe('busybox');
    expect(dockerImageRef('aloft-test/busybox:1')).toBe('aloft-test/busybox:1');
    expect(dockerImageRef('localhost:5000/a/b@sha256:abc')).toBe('localhost:5000/a/b@sha256:abc');
  });
  it('rejects what is not a docker reference', () => {
    expect(dockerImageRef('http://poseidon-data/~poseidon/containers/prokevo.sif')).toBeUndefined();
    expect(dockerImageRef('file:///x/image.tar')).toBeUndefined();
    expect(dockerImageRef('docker:///a b')).toBeUndefined();
    expect(dockerImageRef('docker:///../etc')).toBeUndefined();
  });
});

describe('parseMount', () => {
  it('parses host:container[:ro] and normalises trailing slashes', () => {
    expect(parseMount('/Volumes/Work/lfs1:/shared-data/:ro', 'c')).toEqual({
      source: '/Volumes/Work/lfs1',
      target: '/shared-data',
      readOnly: true,
    });
    expect(parseMount('/a:/b', 'c')).toEqual({ source: '/a', target: '/b', readOnly: false });
    expect(parseMount('/a:/b:rw', 'c')).toEqual({ source: '/a', target: '/b', readOnly: false });
  });
  it('rejects relative paths, .. segments, unknown options and bad shapes', () => {
    expect(parseMount('a:/b', 'c')).toMatch(/container c: mount 'a:\/b' must use absolute paths/);
    expect(parseMount('/a/../etc:/b', 'c')).toMatch(/without "\.\." segments/);
    expect(parseMount('/a:/b:z', 'c')).toMatch(/option 'z'/);
    expect(parseMount('/a', 'c')).toMatch(/is not host:container/);
    expect(parseMount('/a:/b:ro:x', 'c')).toMatch(/is not host:container/);
  });
});

describe('containerSpec', () => {
  it('defaults to network none and the agent user', () => {
    const r = containerSpec(job('docker:///img:1', ['/data:/data:ro']), '/s/j1.1');
    expect(r.problems).toEqual([]);
    expect(r.spec).toEqual({
      image: 'img:1',
      mounts: [{ source: '/data', target: '/data', readOnly: true }],
      network: 'none',
      user: agentUser(),
    });
  });
  it('accepts the host network and a user override', () => {
    const r = containerSpec(
      job('img', [], { 'docker.network': 'host', 'docker.user': '1000:1000' }),
      '/s',
    );
    expect(r.spec?.network).toBe('host');
    expect(r.spec?.user).toBe('1000:1000');
  });
  it('reports every problem at once', () => {
    const r = containerSpec(
      job('http://x/y.sif', ['rel:/b', '/a:/s/j1.1/in'], {
        'docker.network': 'bridge',
        'docker.user': 'a b',
      }),
      '/s/j1.1',
    );
    expect(r.spec).toBeUndefined();
    expect(r.problems).toHaveLength(5);
    expect(r.problems.join('\n')).toMatch(/image 'http:\/\/x\/y.sif' is not a docker image/);
    expect(r.problems.join('\n')).toMatch(/would cover the attempt's scratch directory/);
    expect(r.problems.join('\n')).toMatch(/aloft.docker.network is 'bridge'; only none/);
    expect(r.problems.join('\n')).toMatch(/aloft.docker.user is 'a b'/);
  });
  it('refuses jobs without a docker container', () => {
    const r = containerSpec(plannedJob({ id: 'p' }), '/s');
    expect(r.problems[0]).toMatch(/job p has no docker container/);
  });
});

/** Where the docker daemon is found. */
import { describe, expect, it } from 'vitest';
import { daemonAddress } from './daemon.js';

describe('daemonAddress', () => {
  it('finds the daemon from options, DOCKER_HOST, then the default socket', () => {
    expect(daemonAddress({ socketPath: '/s.sock' }, { DOCKER_HOST: 'unix:///x' }).url).toBe(
      'unix:///s.sock',
    );
    expect(daemonAddress({}, { DOCKER_HOST: 'unix:///run/d.sock' }).socketPath).toBe('/run/d.sock');
    expect(daemonAddress({}, { DOCKER_HOST: 'tcp://127.0.0.1:2375' }).options).toEqual({
      host: '127.0.0.1',
      port: 2375,
      protocol: 'http',
    });
    expect(daemonAddress({}, {}).socketPath).toBe('/var/run/docker.sock');
  });
  it('rejects an unsupported DOCKER_HOST as invalid input', () => {
    expect(() => daemonAddress({}, { DOCKER_HOST: 'ssh://me@host' })).toThrow(
      /DOCKER_HOST: 'ssh:\/\/me@host' is not a supported docker daemon address/,
    );
  });
});

/** The agent's input cache settings: --cache-dir and --cache-size from file, env and flags. */
import { describe, expect, it } from 'vitest';
import { problemsOf } from '../../test/helpers/problems.js';
import { loadAgentConfig } from './config.js';

const base = { nats: 'nats://127.0.0.1:4222', site: 'edge-1', work: '/w' };

describe('agent cache config', () => {
  it('defaults to 10% of the filesystem, in the work dir', () => {
    const c = loadAgentConfig({ flags: base, host: 'h', cores: 1, cwd: '/' });
    expect(c.cacheSize).toBe('10%');
    expect(c.cacheDir).toBeUndefined();
  });

  it('takes flags over env over file, and makes the dir absolute', () => {
    const file = {
      name: 'agent.yml',
      dir: '/etc/aloft',
      data: { cacheDir: 'cache', cacheSize: '1GiB' },
    };
    const fromFile = loadAgentConfig({ file, flags: base, host: 'h', cores: 1, cwd: '/' });
    expect(fromFile).toMatchObject({ cacheDir: '/etc/aloft/cache', cacheSize: '1GiB' });
    const env = { ALOFT_AGENT_CACHE_SIZE: '500MB', ALOFT_AGENT_CACHE_DIR: '/var/cache/aloft' };
    const fromEnv = loadAgentConfig({ file, env, flags: base, host: 'h', cores: 1, cwd: '/' });
    expect(fromEnv).toMatchObject({ cacheDir: '/var/cache/aloft', cacheSize: '500MB' });
    const flags = { ...base, 'cache-size': '10GiB', 'cache-dir': 'c2' };
    const fromFlags = loadAgentConfig({ file, env, flags, host: 'h', cores: 1, cwd: '/srv' });
    expect(fromFlags).toMatchObject({ cacheDir: '/srv/c2', cacheSize: '10GiB' });
  });

  it('reports a bad size with the fix, together with the other problems', () => {
    const problems = problemsOf(() =>
      loadAgentConfig({
        flags: { ...base, 'cache-size': 'ten gigs', slots: '0' },
        env: { ALOFT_AGENT_CACHE_SIZE: '200%' },
        host: 'h',
        cores: 1,
        cwd: '/',
      }),
    );
    const text = problems.map((p) => `${p.where}: ${p.message}`).join('\n');
    expect(text).toMatch(
      /cache-size.*'ten gigs' is not a size: use bytes with a unit \(e\.g\. '10GiB'/,
    );
    expect(text).toMatch(
      /ALOFT_AGENT_CACHE_SIZE: '200%' must be a share above 0% and at most 100%/,
    );
    expect(text).toMatch(/--slots/);
  });
});

import { describe, expect, it } from 'vitest';
import { problemsOf } from '../../test/helpers/problems.js';
import { loadAgentConfig, sanitizeHostname } from './config.js';

const flags = { nats: 'nats://127.0.0.1:4222', site: 'edge-1', work: '/w' };

describe('agent config', () => {
  it('sanitises the hostname into an id', () => {
    expect(sanitizeHostname('radar-1.example.org')).toBe('radar-1');
    expect(sanitizeHostname('my host+x')).toBe('my-host-x');
    expect(sanitizeHostname('...')).toBe('agent');
  });

  it('defaults: id from the host, slots = cores, 5s heartbeat, 60s drain grace', () => {
    const c = loadAgentConfig({ flags, host: 'node7.lab', cores: 6, cwd: '/' });
    expect(c).toMatchObject({
      id: 'node7',
      slots: 6,
      heartbeat: 5000,
      drainGrace: 60_000,
      sites: [],
      labels: {},
      logLevel: 'info',
      nats: ['nats://127.0.0.1:4222'],
      workDir: '/w',
    });
  });

  it('reads YAML-style strings from a file (FAILSAFE YAML gives every scalar as text)', () => {
    const c = loadAgentConfig({
      file: {
        name: 'agent.yml',
        dir: '/etc/aloft',
        data: {
          nats: ['nats://a:4222', 'tls://b:4222'],
          site: 's',
          workDir: 'work',
          slots: '3',
          heartbeat: '2s',
          labels: { zone: 'n' },
          natsToken: 't0ken',
        },
      },
      host: 'h',
      cores: 2,
    });
    expect(c).toMatchObject({
      slots: 3,
      heartbeat: 2000,
      workDir: '/etc/aloft/work',
      natsToken: 't0ken',
    });
  });

  it('rejects bad ids, URLs, label keys and conflicting credentials, all at once', () => {
    const p = problemsOf(() =>
      loadAgentConfig({
        flags: { ...flags, id: 'a.b', nats: 'http://x', labels: 'bad key=1', 'docker-host': 'x' },
        host: 'h',
        cores: 2,
      }),
    );
    expect(p.map((x) => x.where)).toEqual(['--id', '--nats', '--labels', '--docker-host']);
    const cross = problemsOf(() =>
      loadAgentConfig({
        flags: { ...flags, 'nats-user': 'u', 'tls-cert': '/c', sites: 'edge-1,x' },
        env: { ALOFT_AGENT_NATS_TOKEN: 'secret-token' },
        host: 'h',
        cores: 2,
      }),
    );
    expect(cross.map((x) => x.message)).toEqual([
      'natsUser and natsPassword go together',
      'give one NATS credential: natsUser/natsPassword, natsNkeySeedFile or natsToken',
      'tlsCert and tlsKey go together',
      "sites repeats the main site 'edge-1'",
    ]);
    expect(JSON.stringify(cross)).not.toContain('secret-token');
  });
});

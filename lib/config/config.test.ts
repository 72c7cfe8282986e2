import { describe, expect, it } from 'vitest';
import { problemsOf } from '../../test/helpers/problems.js';
import type { Problem } from '../errors/index.js';
import {
  describeSchema,
  didYouMean,
  flagOptions,
  formatDuration,
  loadConfig,
  parseDuration,
  redactConfig,
  type Schema,
} from './index.js';

const schema = {
  id: { type: 'string', default: 'host-1' },
  site: { type: 'string', required: true, doc: 'the site this agent belongs to' },
  workDir: { type: 'path', required: true, flag: 'work' },
  slots: { type: 'integer', min: 1, max: 64, default: 2 },
  ratio: { type: 'number', min: 0, max: 1 },
  verbose: { type: 'boolean', default: false },
  heartbeat: { type: 'duration', min: 100, default: 5000 },
  nats: { type: 'list', default: ['nats://127.0.0.1:4222'] },
  labels: { type: 'map', default: {} },
  logLevel: { type: 'enum', values: ['debug', 'info', 'warn'], default: 'info' },
  password: { type: 'string', secret: true },
  zone: {
    type: 'string',
    check: (v: string) => (v.startsWith('z') ? undefined : "must start with 'z'"),
  },
} satisfies Schema;

const base = { schema, envPrefix: 'ALOFT_AGENT_', what: 'agent', cwd: '/srv' };

describe('durations', () => {
  it('parses units and compounds, and formats back', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('5')).toBeUndefined();
    expect(parseDuration('5 s')).toBeUndefined();
    expect(parseDuration('-5s')).toBeUndefined();
    expect(formatDuration(90_500)).toBe('1m30s500ms');
    expect(formatDuration(0)).toBe('0s');
  });
});

describe('didYouMean', () => {
  it('finds near misses ignoring case, _ and -', () => {
    expect(didYouMean('slot', ['slots', 'site'])).toBe('slots');
    expect(didYouMean('work_dir', ['workDir', 'site'])).toBe('workDir');
    expect(didYouMean('zzzzzz', ['workDir', 'site'])).toBeUndefined();
  });
});

describe('loadConfig', () => {
  it('applies defaults and types every field from a file', () => {
    const cfg = loadConfig({
      ...base,
      file: {
        name: 'agent.yml',
        dir: '/etc/aloft',
        data: {
          site: 'edge-1',
          workDir: 'work',
          slots: 4,
          ratio: 0.5,
          verbose: true,
          heartbeat: '2s',
          nats: ['nats://a:4222', 'nats://b:4222'],
          labels: { zone: 'north', tier: 2 },
          logLevel: 'debug',
          password: 'hunter2',
        },
      },
    });
    expect(cfg).toEqual({
      id: 'host-1',
      site: 'edge-1',
      workDir: '/etc/aloft/work',
      slots: 4,
      ratio: 0.5,
      verbose: true,
      heartbeat: 2000,
      nats: ['nats://a:4222', 'nats://b:4222'],
      labels: { zone: 'north', tier: '2' },
      logLevel: 'debug',
      password: 'hunter2',
    });
  });

  it('merges defaults < file < env < flags', () => {
    const cfg = loadConfig({
      ...base,
      file: {
        name: 'agent.yml',
        dir: '/etc',
        data: { site: 'f', slots: 3, heartbeat: '1s', id: 'file-id' },
      },
      env: {
        ALOFT_AGENT_SLOTS: '5',
        ALOFT_AGENT_HEARTBEAT: '3s',
        ALOFT_AGENT_LABELS: 'a=1,b=2',
        PATH: '/bin',
      },
      flags: { slots: '7', work: 'w', labels: 'c=3' },
    });
    expect(cfg.id).toBe('file-id'); // file over default
    expect(cfg.site).toBe('f');
    expect(cfg.heartbeat).toBe(3000); // env over file
    expect(cfg.slots).toBe(7); // flag over env over file
    expect(cfg.workDir).toBe('/srv/w'); // flag paths resolve against cwd
    expect(cfg.labels).toEqual({ c: '3' });
    expect(cfg.logLevel).toBe('info');
    expect(cfg.ratio).toBeUndefined();
  });

  it('reports every bad key of every source at once, naming the source', () => {
    const problems = problemsOf(() =>
      loadConfig({
        ...base,
        file: {
          name: 'agent.yml',
          dir: '/etc',
          data: { site: 'x', slots: 0, heartbeat: 5, slot: 3, logLevel: 'loud' },
        },
        env: { ALOFT_AGENT_RATIO: '2', ALOFT_AGENT_VERBSE: '1' },
        flags: { work: '/w', labels: 'novalue', zone: 'a1' },
      }),
    );
    expect(problems.map((p) => p.where).sort()).toEqual(
      [
        '--labels',
        '--zone',
        'agent.yml: heartbeat',
        'agent.yml: logLevel',
        'agent.yml: slot',
        'agent.yml: slots',
        'env ALOFT_AGENT_RATIO',
        'env ALOFT_AGENT_VERBSE',
      ].sort(),
    );
    const by = (w: string): Problem | undefined => problems.find((p) => p.where === w);
    expect(by('agent.yml: slots')?.message).toBe('must be at least 1, got 0');
    expect(by('agent.yml: heartbeat')?.message).toMatch(
      /duration with a unit.*\(add a unit: 5s\?\)/,
    );
    expect(by('agent.yml: slot')).toMatchObject({
      message: 'unknown key',
      hint: "did you mean 'slots'?",
    });
    expect(by('agent.yml: logLevel')?.message).toBe("must be one of debug, info, warn, got 'loud'");
    expect(by('env ALOFT_AGENT_RATIO')?.message).toBe("must be at most 1, got '2'");
    expect(by('env ALOFT_AGENT_VERBSE')?.hint).toBe('did you mean ALOFT_AGENT_VERBOSE?');
    expect(by('--labels')?.message).toMatch(/'novalue' is not k=v/);
    expect(by('--zone')?.message).toBe("must start with 'z'");
  });

  it('reports missing required keys with where to set them', () => {
    const problems = problemsOf(() => loadConfig({ ...base }));
    expect(problems).toEqual([
      {
        where: 'agent config: site',
        message: 'is required (the site this agent belongs to)',
        hint: "set 'site' in the config file, ALOFT_AGENT_SITE in the environment or --site",
      },
      {
        where: 'agent config: workDir',
        message: 'is required',
        hint: "set 'workDir' in the config file, ALOFT_AGENT_WORK_DIR in the environment or --work",
      },
    ]);
  });

  it('a file that is not a mapping is one problem; null file content is empty', () => {
    expect(
      problemsOf(() =>
        loadConfig({
          ...base,
          file: { name: 'a.yml', dir: '/', data: ['x'] },
          flags: { site: 's', work: 'w' },
        }),
      ),
    ).toMatchObject([{ where: 'a.yml', message: 'must be a mapping of settings (key: value)' }]);
    const cfg = loadConfig({
      ...base,
      file: { name: 'a.yml', dir: '/', data: null },
      flags: { site: 's', work: 'w' },
    });
    expect(cfg.site).toBe('s');
  });

  it('never shows a secret value in a message, and redacts it for logs', () => {
    const problems = problemsOf(() =>
      loadConfig({
        ...base,
        file: {
          name: 'a.yml',
          dir: '/',
          data: { site: 's', workDir: '/w', password: ['hunter2'] },
        },
      }),
    );
    expect(JSON.stringify(problems)).not.toContain('hunter2');
    expect(problems[0]?.message).toBe('must be a text value, got [redacted]');
    const cfg = loadConfig({ ...base, flags: { site: 's', work: 'w', password: 'hunter2' } });
    expect(redactConfig(schema, cfg)).toMatchObject({ password: '[redacted]', site: 's' });
    expect(describeSchema(schema, 'ALOFT_AGENT_').join('\n')).not.toContain('hunter2');
  });

  it('runs cross-key checks only when every key is valid', () => {
    const validate = (c: { slots: number; ratio?: number }): Problem[] =>
      c.ratio !== undefined && c.slots > 4
        ? [{ where: 'agent config', message: 'ratio needs slots <= 4' }]
        : [];
    expect(
      problemsOf(() =>
        loadConfig({
          ...base,
          validate,
          flags: { site: 's', work: 'w', slots: '8', ratio: '0.1' },
        }),
      ),
    ).toEqual([{ where: 'agent config', message: 'ratio needs slots <= 4' }]);
    expect(
      problemsOf(() =>
        loadConfig({
          ...base,
          validate,
          flags: { site: 's', work: 'w', slots: '99', ratio: '0.1' },
        }),
      ),
    ).toMatchObject([{ where: '--slots' }]);
  });

  it('parses booleans, lists and maps from text', () => {
    const cfg = loadConfig({
      ...base,
      env: {
        ALOFT_AGENT_VERBOSE: 'yes',
        ALOFT_AGENT_NATS: 'nats://a:1, nats://b:2',
        ALOFT_AGENT_LABELS: 'k=v=w,e=',
      },
      flags: { site: 's', work: 'w' },
    });
    expect(cfg.verbose).toBe(true);
    expect(cfg.nats).toEqual(['nats://a:1', 'nats://b:2']);
    expect(cfg.labels).toEqual({ k: 'v=w', e: '' });
  });

  it('derives parseArgs flag options from the schema', () => {
    const f = flagOptions(schema);
    expect(f['work']).toEqual({ type: 'string' });
    expect(f['verbose']).toEqual({ type: 'boolean' });
    expect(f['log-level']).toEqual({ type: 'string' });
    expect(f['work-dir']).toBeUndefined();
  });
});

/**
 * The agent daemon's config (`aloft agent`): the schema for lib/config's loader, with
 * defaults measured on this host (id from the hostname, slots = cores). Sources: a file
 * (`--config`, parsed by the caller), ALOFT_AGENT_* variables, flags — in that order.
 */
import os from 'node:os';
import type { Problem } from '../../lib/errors/index.js';
import { loadConfig, setTogether, type ConfigFile, type ConfigOf } from '../../lib/config/index.js';
import { parseSizeSpec } from '../cache/index.js';

const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;
const LABEL_KEY =
  /^([A-Za-z0-9][A-Za-z0-9_.-]{0,252}\/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
const token = (v: string): string | undefined =>
  TOKEN.test(v) ? undefined : `'${v}' is not valid: use 1-128 characters from [A-Za-z0-9_-]`;

export const AGENT_ENV_PREFIX = 'ALOFT_AGENT_';

/** The hostname reduced to an agent id: `[A-Za-z0-9_-]`, at most 128 characters. */
export function sanitizeHostname(host: string): string {
  const id = host
    .split('.')[0]!
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 128);
  return id === '' ? 'agent' : id;
}

function natsUrls(urls: string[]): string | undefined {
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      return `'${u}' is not a URL (use nats://host:4222)`;
    }
    if (!['nats:', 'tls:'].includes(url.protocol)) {
      return `'${u}' must use nats:// or tls://`;
    }
  }
  return urls.length === 0 ? 'needs at least one URL' : undefined;
}

/** The schema, with host-dependent defaults. */
export function agentSchema(host = os.hostname(), cores = os.availableParallelism()) {
  return {
    id: {
      type: 'string',
      default: sanitizeHostname(host),
      check: token,
      doc: 'agent id (becomes part of NATS subjects)',
    },
    nats: {
      type: 'list',
      required: true,
      check: natsUrls,
      doc: 'NATS server URLs (nats://host:4222, tls://...)',
    },
    site: { type: 'string', required: true, check: token, doc: 'the site this agent belongs to' },
    sites: {
      type: 'list',
      default: [],
      check: (v: string[]) => v.map(token).find((m) => m !== undefined),
      doc: 'further sites it serves',
    },
    workDir: {
      type: 'path',
      required: true,
      flag: 'work',
      doc: 'work directory (scratch, outbox)',
    },
    slots: { type: 'integer', min: 1, max: 4096, default: cores, doc: 'attempts run at once' },
    prefetch: {
      type: 'integer',
      min: 0,
      max: 4096,
      default: 0,
      doc: 'attempts accepted beyond the slots, queued to start the moment a slot frees (for jobs of seconds or less)',
    },
    cacheDir: {
      type: 'path',
      doc: 'input cache directory (default: <work dir>/cache)',
    },
    cacheSize: {
      type: 'string',
      default: '10%',
      check: (v: string) => {
        const r = parseSizeSpec(v);
        return typeof r === 'string' ? r : undefined;
      },
      doc: "input cache budget: bytes ('10GiB', '500MB') or a share of its filesystem ('10%')",
    },
    labels: {
      type: 'map',
      default: {},
      check: (m: Record<string, string>) =>
        Object.keys(m)
          .filter((k) => !LABEL_KEY.test(k))
          .map((k) => `label key '${k}' is not valid (letters, digits, _ . - and one /prefix)`)[0],
      doc: 'labels advertised (k=v,k2=v2)',
    },
    gpus: { type: 'integer', min: 0, max: 1024, doc: 'GPUs offered (default: probed)' },
    heartbeat: {
      type: 'duration',
      min: 100,
      max: 3_600_000,
      default: 5000,
      doc: 'heartbeat interval',
    },
    drainGrace: {
      type: 'duration',
      min: 0,
      max: 7 * 86_400_000,
      default: 60_000,
      doc: 'on SIGTERM, how long running attempts may finish',
    },
    natsUser: { type: 'string', doc: 'NATS user name' },
    natsPassword: { type: 'string', secret: true, doc: 'NATS password' },
    natsNkeySeedFile: { type: 'path', doc: 'file holding the NATS nkey user seed (SU...)' },
    natsToken: { type: 'string', secret: true, doc: 'NATS token' },
    tlsCa: { type: 'path', doc: 'CA certificate (PEM) that verifies the NATS server' },
    tlsCert: { type: 'path', doc: 'client certificate (PEM)' },
    tlsKey: { type: 'path', doc: 'client key (PEM)' },
    dockerHost: {
      type: 'string',
      check: (v: string) =>
        /^unix:\/\/\/.+$|^tcp:\/\/[^/]+:\d+\/?$/.test(v)
          ? undefined
          : `'${v}' must be unix:///path or tcp://host:port`,
      doc: 'docker daemon (default DOCKER_HOST or /var/run/docker.sock)',
    },
    logLevel: {
      type: 'enum',
      values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
      default: 'info',
      doc: 'log level',
    },
  } as const satisfies import('../../lib/config/index.js').Schema;
}

export type AgentSchema = ReturnType<typeof agentSchema>;
export type AgentConfig = ConfigOf<AgentSchema>;

function crossChecks(c: AgentConfig): Problem[] {
  const p: Problem[] = [];
  const where = 'agent config';
  p.push(...setTogether(c, [['natsUser', 'natsPassword']], where));
  const auth = [c.natsUser, c.natsNkeySeedFile, c.natsToken].filter((v) => v !== undefined);
  if (auth.length > 1) {
    p.push({
      where,
      message: 'give one NATS credential: natsUser/natsPassword, natsNkeySeedFile or natsToken',
    });
  }
  p.push(...setTogether(c, [['tlsCert', 'tlsKey']], where));
  if (c.sites.includes(c.site)) {
    p.push({
      where,
      message: `sites repeats the main site '${c.site}'`,
      hint: 'list only further sites',
    });
  }
  return p;
}

export interface AgentConfigSources {
  file?: ConfigFile;
  env?: NodeJS.ProcessEnv;
  flags?: Record<string, string | boolean | string[] | undefined>;
  cwd?: string;
  /** Host facts for defaults (tests pin them). */
  host?: string;
  cores?: number;
}

/** Load the agent config; throws AloftError INVALID_ARGUMENT listing every problem. */
export function loadAgentConfig(sources: AgentConfigSources): AgentConfig {
  const schema = agentSchema(sources.host, sources.cores);
  return loadConfig({
    schema,
    envPrefix: AGENT_ENV_PREFIX,
    what: 'agent',
    validate: crossChecks,
    ...(sources.file ? { file: sources.file } : {}),
    ...(sources.env ? { env: sources.env } : {}),
    ...(sources.flags ? { flags: sources.flags } : {}),
    ...(sources.cwd ? { cwd: sources.cwd } : {}),
  });
}

/**
 * The scheduler's config (`aloft scheduler`): the schema for lib/config's loader. Sources:
 * a file (`--config`, parsed by the caller), ALOFT_SCHEDULER_* variables, flags — in that
 * order of precedence; every bad key of every source is reported at once. The control
 * token and NATS credentials are secret (never in a message or a log).
 */
import type { Problem } from '../../lib/errors/index.js';
import {
  loadConfig,
  parseDuration,
  setTogether,
  type ConfigFile,
  type ConfigOf,
  type Schema,
} from '../../lib/config/index.js';
import type { MassLossOptions, QuarantineOptions } from '../broker/index.js';

export const SCHEDULER_ENV_PREFIX = 'ALOFT_SCHEDULER_';

const SITE = /^[A-Za-z0-9_-]{1,128}$/;
const MIN_LEASE_MS = 100;
const MAX_LEASE_MS = 7 * 86_400_000;

function natsUrls(urls: string[]): string | undefined {
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      return `'${u}' is not a URL (use nats://host:4222)`;
    }
    if (!['nats:', 'tls:'].includes(url.protocol)) return `'${u}' must use nats:// or tls://`;
  }
  return urls.length === 0 ? 'needs at least one URL' : undefined;
}

/** `HOST:PORT` (IPv6 as `[::1]:PORT`); port 0 = any free port. */
export function parseListen(v: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  return { host: m[1]!, port };
}

/** Per-site leases: every value a duration within bounds, every key a site name. */
function siteLeases(m: Record<string, string>): string | undefined {
  for (const [site, v] of Object.entries(m)) {
    if (!SITE.test(site)) return `site '${site}' is not a site name ([A-Za-z0-9_-])`;
    const ms = parseDuration(v);
    if (ms === undefined) return `lease '${v}' of site ${site} is not a duration (e.g. 60s)`;
    if (ms < MIN_LEASE_MS || ms > MAX_LEASE_MS) {
      return `lease ${v} of site ${site} is out of range (100ms..7d)`;
    }
  }
  return undefined;
}

export function schedulerSchema() {
  return {
    nats: {
      type: 'list',
      required: true,
      check: natsUrls,
      doc: 'NATS server URLs (nats://host:4222, tls://...)',
    },
    dataDir: {
      type: 'path',
      required: true,
      flag: 'data',
      doc: 'data directory (runs/<workflow id> run directories)',
    },
    listen: {
      type: 'string',
      default: '127.0.0.1:7070',
      check: (v: string) =>
        parseListen(v) ? undefined : `'${v}' is not HOST:PORT (e.g. 127.0.0.1:7070)`,
      doc: 'address of the gRPC control API',
    },
    token: {
      type: 'string',
      secret: true,
      check: (v: string) => (v.length >= 8 ? undefined : 'is too short: use at least 8 characters'),
      doc: 'bearer token clients must present (default: none required)',
    },
    tlsCert: { type: 'path', doc: 'server certificate (PEM) of the control API' },
    tlsKey: { type: 'path', doc: 'server key (PEM) of the control API' },
    tlsCa: { type: 'path', doc: 'CA (PEM) that client certificates must chain to (mTLS)' },
    lease: {
      type: 'duration',
      min: MIN_LEASE_MS,
      max: MAX_LEASE_MS,
      default: 15_000,
      doc: 'agent lease: an agent silent this long is lost',
    },
    siteLease: {
      type: 'map',
      default: {},
      check: siteLeases,
      doc: 'leases per site (edge=60s,...)',
    },
    quarantineFailures: {
      type: 'integer',
      min: 1,
      max: 1000,
      default: 3,
      doc: 'infrastructure failures of one agent within quarantineWindow that quarantine it',
    },
    quarantineWindow: {
      type: 'duration',
      min: 1000,
      max: MAX_LEASE_MS,
      default: 600_000,
      doc: 'window in which quarantineFailures are counted',
    },
    quarantinePeriod: {
      type: 'duration',
      min: 1000,
      max: MAX_LEASE_MS,
      default: 1_800_000,
      doc: 'how long a quarantined agent gets no work',
    },
    massLossFraction: {
      type: 'number',
      min: 0,
      max: 1,
      default: 0.5,
      doc: 'hold rescheduling when more than this fraction of agents is lost within massLossWindow',
    },
    massLossWindow: {
      type: 'duration',
      min: 1000,
      max: MAX_LEASE_MS,
      default: 60_000,
      doc: 'window of the mass-loss guard',
    },
    massLossMin: {
      type: 'integer',
      min: 1,
      max: 100_000,
      default: 2,
      doc: 'fewer lost agents than this never trip the mass-loss guard',
    },
    natsUser: { type: 'string', doc: 'NATS user name' },
    natsPassword: { type: 'string', secret: true, doc: 'NATS password' },
    natsToken: { type: 'string', secret: true, doc: 'NATS token' },
    natsTlsCa: { type: 'path', doc: 'CA certificate (PEM) that verifies the NATS server' },
    natsTlsCert: { type: 'path', doc: 'NATS client certificate (PEM)' },
    natsTlsKey: { type: 'path', doc: 'NATS client key (PEM)' },
    logLevel: {
      type: 'enum',
      values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
      default: 'info',
      doc: 'log level',
    },
  } as const satisfies Schema;
}

export type SchedulerConfig = ConfigOf<ReturnType<typeof schedulerSchema>>;

function crossChecks(c: SchedulerConfig): Problem[] {
  const p: Problem[] = [];
  const where = 'scheduler config';
  p.push(...setTogether(c, [['tlsCert', 'tlsKey']], where));
  if (c.tlsCa !== undefined && c.tlsCert === undefined) {
    p.push({
      where,
      message: 'tlsCa (client certificates, mTLS) needs TLS',
      hint: 'also set tlsCert and tlsKey',
    });
  }
  p.push(...setTogether(c, [['natsUser', 'natsPassword']], where));
  if (c.natsUser !== undefined && c.natsToken !== undefined) {
    p.push({ where, message: 'give one NATS credential: natsUser/natsPassword or natsToken' });
  }
  p.push(...setTogether(c, [['natsTlsCert', 'natsTlsKey']], where));
  return p;
}

export interface SchedulerConfigSources {
  file?: ConfigFile;
  env?: NodeJS.ProcessEnv;
  flags?: Record<string, string | boolean | string[] | undefined>;
  cwd?: string;
}

/** Load the scheduler config; throws AloftError INVALID_ARGUMENT listing every problem. */
export function loadSchedulerConfig(sources: SchedulerConfigSources): SchedulerConfig {
  return loadConfig({
    schema: schedulerSchema(),
    envPrefix: SCHEDULER_ENV_PREFIX,
    what: 'scheduler',
    validate: crossChecks,
    ...(sources.file ? { file: sources.file } : {}),
    ...(sources.env ? { env: sources.env } : {}),
    ...(sources.flags ? { flags: sources.flags } : {}),
    ...(sources.cwd ? { cwd: sources.cwd } : {}),
  });
}

/** Quarantine and mass-loss settings of the scheduler, from the config. */
export function guardsOf(c: SchedulerConfig): {
  quarantine: QuarantineOptions;
  massLoss: MassLossOptions;
} {
  return {
    quarantine: {
      failures: c.quarantineFailures,
      windowMs: c.quarantineWindow,
      periodMs: c.quarantinePeriod,
    },
    massLoss: {
      fraction: c.massLossFraction,
      windowMs: c.massLossWindow,
      minLost: c.massLossMin,
    },
  };
}

/** The leases the config gives (site values parsed; the config check vouched for them). */
export function leasesOf(c: SchedulerConfig): { defaultMs: number; sites: Record<string, number> } {
  const sites: Record<string, number> = {};
  for (const [site, v] of Object.entries(c.siteLease)) sites[site] = parseDuration(v)!;
  return { defaultMs: c.lease, sites };
}

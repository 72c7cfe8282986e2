/**
 * Configuration and URLs of the s3:// store (lib/store/s3-store.ts): which endpoint, region,
 * credentials and addressing style a URL is served with, validated up front so a bad config
 * is ONE AloftError.invalid listing every bad key — and never showing a secret.
 *
 * URL forms (the mapping, kept to Pegasus' own):
 *   s3://BUCKET/KEY                 the default endpoint: options, else the standard AWS
 *                                   chain (below). The usual AWS form.
 *   s3://USER@SITE/BUCKET/KEY       a named endpoint, exactly as Pegasus writes it
 *                                   (pegasus-s3, `s3://user@site/bucket/key`): the settings
 *                                   registered under SITE (endpoint, region, path style)
 *                                   overlaid with those under USER@SITE (credentials), as
 *                                   Pegasus' s3cfg does with its `[site]` and `[user@site]`
 *                                   sections. At least one of the two must be registered.
 * We do not read `s3://NAME@BUCKET/KEY` (name in the user part, bucket as host): the same URL
 * would then mean a different bucket here than in a Pegasus replica catalog. A password in
 * the URL (`s3://user:secret@...`) and a port are refused: credentials and endpoints belong
 * in configuration, not in URLs that end up in catalogs and logs.
 *
 * Where settings come from, first match wins:
 *   endpoint     option `endpoint` | AWS_ENDPOINT_URL_S3 | AWS_ENDPOINT_URL | SDK (profile
 *                `endpoint_url`, else AWS)
 *   region       option `region` | AWS_REGION | AWS_DEFAULT_REGION | SDK (profile) | us-east-1
 *   credentials  option `credentials` | AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 *                (+ AWS_SESSION_TOKEN) | SDK default chain (AWS_PROFILE / option `profile`,
 *                shared config and credentials files, SSO, process, container, IMDS)
 *   path style   option `forcePathStyle` | ALOFT_S3_PATH_STYLE (1/0, true/false) | on when a
 *                custom endpoint that is not amazonaws.com is set (MinIO, Ceph RGW and s3rver
 *                rarely have wildcard DNS for virtual-hosted buckets), else off.
 * Routes (option `routes`, e.g. a plan's StoreAccess entries) set endpoint, region and path
 * style for every URL under a prefix, over whatever the URL would use without them (the
 * longest prefix wins); what a route leaves out — credentials, always, in a plan — comes from
 * that default or named endpoint.
 * Named endpoints come from option `endpoints` and, through `registerS3FromEnvironment`, from
 * a Pegasus s3cfg file (S3CFG, else ~/.pegasus/s3cfg): `endpoint`, `access_key`, `secret_key`
 * as Pegasus reads them, plus aloft's `region`, `session_token` and `path_style`.
 */
import { AloftError, type Problem } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import { redactUrl } from './store.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** How to reach one S3 endpoint. Every field is optional: gaps are filled as above. */
export interface S3EndpointConfig {
  /** http(s)://host[:port] of an S3-compatible server (none: AWS). */
  endpoint?: string;
  region?: string;
  credentials?: S3Credentials;
  /** Shared-config profile for the SDK's credential chain (default AWS_PROFILE). */
  profile?: string;
  /** Path-style addressing (http://host/bucket/key) instead of bucket.host. */
  forcePathStyle?: boolean;
}

/** Settings for every URL under a prefix (a plan's StoreAccess: one site's store). */
export interface S3Route extends S3EndpointConfig {
  /** s3://bucket/prefix/ or s3://user@site/bucket/prefix/. */
  url: string;
}

export interface S3StoreOptions extends S3EndpointConfig {
  /** Named endpoints for `s3://USER@SITE/bucket/key` URLs: keys are SITE or USER@SITE. */
  endpoints?: Record<string, S3EndpointConfig>;
  /**
   * Per-prefix settings, over the default or named endpoint a URL would otherwise use; the
   * longest matching prefix wins. Gaps (e.g. credentials, which plans never carry) are
   * filled from that endpoint.
   */
  routes?: S3Route[];
  /** Environment to read AWS_* / ALOFT_S3_* from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Sources of at least this many bytes are uploaded in parts (default 16 MiB). */
  multipartThreshold?: number;
  /** Part size of multipart uploads, 5 MiB .. 5 GiB (default 8 MiB; grown for >10,000 parts). */
  partSize?: number;
  /** Parts in flight per upload (default 4). */
  partConcurrency?: number;
  /** A transfer with no data moving for this long fails UNAVAILABLE (default 60 s). */
  idleTimeoutMs?: number;
  /** TCP connect timeout (default 10 s). */
  connectTimeoutMs?: number;
  /**
   * Tries per HTTP request inside the SDK (its standard mode: jittered backoff on 5xx,
   * throttling and connection errors) — cheap retries of one part or one HEAD. Whole
   * transfers (a body cut or stalled mid-way) are retried by the caller. Default 3.
   */
  maxAttempts?: number;
  /** Keys per ListObjectsV2 page, 1..1000 (default 1000). */
  listPageSize?: number;
  /**
   * fsync downloads before they become visible (default false). The destination of a get
   * is a local copy of an object the store still holds (scratch, agent cache): after a
   * power loss it can be fetched again, and whoever keeps such copies across restarts
   * re-verifies them or turns this on. It costs ~30% of small-file download throughput
   * here (bench/staging, variant "fsync").
   */
  fsync?: boolean;
  logger?: Logger;
}

/** Everything needed to build one SDK client; `label` names it in messages. */
export interface ResolvedEndpoint {
  label: string;
  endpoint?: string;
  region?: string;
  credentials?: S3Credentials;
  profile?: string;
  forcePathStyle: boolean;
}

export interface S3Tuning {
  multipartThreshold: number;
  partSize: number;
  partConcurrency: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  maxAttempts: number;
  listPageSize: number;
  fsync: boolean;
}

export interface ResolvedS3Config {
  default: ResolvedEndpoint;
  /** Validated named endpoints (SITE and USER@SITE entries). */
  named: ReadonlyMap<string, S3EndpointConfig>;
  /** Validated routes, longest prefix first. */
  routes: readonly S3Route[];
  tuning: S3Tuning;
  /** Region from the environment, used for named endpoints that set none. */
  envRegion?: string;
  envPathStyle?: boolean;
  /** Every secret the config holds, to scrub from messages. */
  secrets: string[];
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * GiB;
export const MAX_PARTS = 10_000;

const NAME_RE = /^[A-Za-z0-9_.-]+(@[A-Za-z0-9_.-]+)?$/;
const REGION_RE = /^[A-Za-z0-9_-]{1,64}$/;
const BUCKET_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/;

/** '1'/'true'/'yes' → true, '0'/'false'/'no'/'' → false, else undefined (invalid). */
function parseBool(v: string): boolean | undefined {
  const s = v.trim().toLowerCase();
  if (s === '1' || s === 'true' || s === 'yes' || s === 'on') return true;
  if (s === '0' || s === 'false' || s === 'no' || s === 'off' || s === '') return false;
  return undefined;
}

function checkEndpoint(v: unknown, where: string, problems: Problem[]): string | undefined {
  if (v === undefined) return undefined;
  const hint = 'use http(s)://host[:port] of the S3 server, e.g. http://127.0.0.1:9000';
  if (typeof v !== 'string' || v === '') {
    problems.push({ where, message: 'must be a non-empty URL', hint });
    return undefined;
  }
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    problems.push({ where, message: `'${redactUrl(v)}' is not a URL`, hint });
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    problems.push({ where, message: `'${redactUrl(v)}' is not an http(s) URL`, hint });
    return undefined;
  }
  if (u.username !== '' || u.password !== '') {
    problems.push({
      where,
      message: 'must not carry credentials',
      hint: 'give them as credentials (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)',
    });
    return undefined;
  }
  if (u.search !== '' || u.hash !== '') {
    problems.push({ where, message: `'${v}' has a query or fragment`, hint });
    return undefined;
  }
  return v;
}

function checkRegion(v: unknown, where: string, problems: Problem[]): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !REGION_RE.test(v)) {
    problems.push({
      where,
      message: `'${String(v)}' is not a region name`,
      hint: 'use letters, digits, - and _, e.g. us-east-1',
    });
    return undefined;
  }
  return v;
}

/** Validates without ever echoing a value: these are secrets. */
function checkCredentials(
  v: unknown,
  where: string,
  problems: Problem[],
): S3Credentials | undefined {
  if (v === undefined) return undefined;
  const c = v as Partial<S3Credentials> | null;
  const bad: string[] = [];
  if (typeof c !== 'object' || c === null) {
    problems.push({ where, message: 'must be { accessKeyId, secretAccessKey, sessionToken? }' });
    return undefined;
  }
  if (typeof c.accessKeyId !== 'string' || c.accessKeyId === '') bad.push('accessKeyId');
  if (typeof c.secretAccessKey !== 'string' || c.secretAccessKey === '') {
    bad.push('secretAccessKey');
  }
  if (c.sessionToken !== undefined && (typeof c.sessionToken !== 'string' || !c.sessionToken)) {
    bad.push('sessionToken');
  }
  for (const k of bad) {
    problems.push({ where: `${where}.${k}`, message: 'must be a non-empty string' });
  }
  if (bad.length > 0) return undefined;
  return {
    accessKeyId: c.accessKeyId!,
    secretAccessKey: c.secretAccessKey!,
    ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
  };
}

function checkEndpointConfig(
  c: S3EndpointConfig,
  where: (key: string) => string,
  problems: Problem[],
): S3EndpointConfig {
  const out: S3EndpointConfig = {};
  const endpoint = checkEndpoint(c.endpoint, where('endpoint'), problems);
  const region = checkRegion(c.region, where('region'), problems);
  const credentials = checkCredentials(c.credentials, where('credentials'), problems);
  if (endpoint !== undefined) out.endpoint = endpoint;
  if (region !== undefined) out.region = region;
  if (credentials !== undefined) out.credentials = credentials;
  if (c.profile !== undefined) {
    if (typeof c.profile === 'string' && c.profile !== '') out.profile = c.profile;
    else problems.push({ where: where('profile'), message: 'must be a non-empty string' });
  }
  if (c.forcePathStyle !== undefined) {
    if (typeof c.forcePathStyle === 'boolean') out.forcePathStyle = c.forcePathStyle;
    else problems.push({ where: where('forcePathStyle'), message: 'must be true or false' });
  }
  return out;
}

function intOption(
  o: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  dflt: number,
  problems: Problem[],
): number {
  const v = o[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    problems.push({
      where: `S3 store option '${key}'`,
      message: `${String(v)} is not an integer in ${min}..${max}`,
    });
    return dflt;
  }
  return v;
}

/** Whether a custom endpoint is AWS itself (virtual-hosted addressing works there). */
function isAws(endpoint: string): boolean {
  try {
    const host = new URL(endpoint).hostname;
    return host === 'amazonaws.com' || host.endsWith('.amazonaws.com');
  } catch {
    return false;
  }
}

/** Path style for an endpoint: explicit, else the environment's, else by endpoint (header). */
export function pathStyleFor(
  endpoint: string | undefined,
  explicit: boolean | undefined,
  fromEnv: boolean | undefined,
): boolean {
  return explicit ?? fromEnv ?? (endpoint !== undefined && !isAws(endpoint));
}

/**
 * Validate options and environment into the settings of the default endpoint, the named
 * endpoints and the tuning. Throws one AloftError.invalid listing every problem.
 */
export function resolveS3Config(o: S3StoreOptions = {}): ResolvedS3Config {
  const env = o.env ?? process.env;
  const problems: Problem[] = [];
  const opt = (k: string): string => `S3 store option '${k}'`;
  const envVar = (k: string): string => `environment ${k}`;
  const secrets = new Set<string>();
  const keep = (c: S3Credentials | undefined): void => {
    if (!c) return;
    secrets.add(c.secretAccessKey);
    secrets.add(c.accessKeyId);
    if (c.sessionToken) secrets.add(c.sessionToken);
  };

  const base = checkEndpointConfig(o, opt, problems);
  keep(base.credentials);

  const envEndpointKey = env['AWS_ENDPOINT_URL_S3'] ? 'AWS_ENDPOINT_URL_S3' : 'AWS_ENDPOINT_URL';
  const envEndpoint = env[envEndpointKey]
    ? checkEndpoint(env[envEndpointKey], envVar(envEndpointKey), problems)
    : undefined;
  const envRegionKey = env['AWS_REGION'] ? 'AWS_REGION' : 'AWS_DEFAULT_REGION';
  const envRegion = env[envRegionKey]
    ? checkRegion(env[envRegionKey], envVar(envRegionKey), problems)
    : undefined;
  let envCredentials: S3Credentials | undefined;
  const keyId = env['AWS_ACCESS_KEY_ID'];
  const secret = env['AWS_SECRET_ACCESS_KEY'];
  const token = env['AWS_SESSION_TOKEN'];
  if (keyId && secret) {
    envCredentials = { accessKeyId: keyId, secretAccessKey: secret };
    if (token) envCredentials.sessionToken = token;
    keep(envCredentials);
  } else if (keyId || secret) {
    problems.push({
      where: envVar(keyId ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID'),
      message: `is not set, but ${keyId ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY'} is`,
      hint: 'set both, or neither (then AWS_PROFILE and the shared config files are used)',
    });
  }
  let envPathStyle: boolean | undefined;
  const rawPathStyle = env['ALOFT_S3_PATH_STYLE'];
  if (rawPathStyle !== undefined && rawPathStyle !== '') {
    envPathStyle = parseBool(rawPathStyle);
    if (envPathStyle === undefined) {
      problems.push({
        where: envVar('ALOFT_S3_PATH_STYLE'),
        message: `'${rawPathStyle}' is not a boolean`,
        hint: 'use 1 (path-style URLs: http://host/bucket/key) or 0',
      });
    }
  }

  const named = new Map<string, S3EndpointConfig>();
  for (const [name, c] of Object.entries(o.endpoints ?? {})) {
    const where = (k: string): string => `S3 endpoint '${name}': ${k}`;
    if (!NAME_RE.test(name)) {
      problems.push({
        where: `S3 endpoint '${name}'`,
        message: 'is not a valid endpoint name',
        hint: 'use SITE or USER@SITE with letters, digits, _ . and -',
      });
      continue;
    }
    if (typeof c !== 'object' || c === null) {
      problems.push({ where: `S3 endpoint '${name}'`, message: 'must be an object' });
      continue;
    }
    const checked = checkEndpointConfig(c, where, problems);
    keep(checked.credentials);
    named.set(name, checked);
  }

  const routes: S3Route[] = [];
  (o.routes ?? []).forEach((r, i) => {
    const where = (k: string): string => `S3 route ${i + 1} (${String(r?.url)}): ${k}`;
    if (typeof r !== 'object' || r === null || typeof r.url !== 'string') {
      problems.push({ where: `S3 route ${i + 1}`, message: 'must be { url, endpoint?, ... }' });
      return;
    }
    try {
      parseS3Url(r.url, false);
    } catch (e) {
      problems.push({ where: where('url'), message: (e as AloftError).problems[0]!.message });
      return;
    }
    const checked = checkEndpointConfig(r, where, problems);
    keep(checked.credentials);
    routes.push({ ...checked, url: r.url });
  });
  routes.sort((a, b) => b.url.length - a.url.length);

  const raw = o as unknown as Record<string, unknown>;
  const partSize = intOption(raw, 'partSize', MIN_PART_SIZE, MAX_PART_SIZE, 8 * MiB, problems);
  const tuning: S3Tuning = {
    multipartThreshold: intOption(raw, 'multipartThreshold', 1, 5 * GiB, 16 * MiB, problems),
    partSize,
    partConcurrency: intOption(raw, 'partConcurrency', 1, 64, 4, problems),
    idleTimeoutMs: intOption(raw, 'idleTimeoutMs', 1, 24 * 3600_000, 60_000, problems),
    connectTimeoutMs: intOption(raw, 'connectTimeoutMs', 1, 3600_000, 10_000, problems),
    maxAttempts: intOption(raw, 'maxAttempts', 1, 20, 3, problems),
    listPageSize: intOption(raw, 'listPageSize', 1, 1000, 1000, problems),
    fsync: false,
  };
  if (o.fsync !== undefined) {
    if (typeof o.fsync === 'boolean') tuning.fsync = o.fsync;
    else problems.push({ where: opt('fsync'), message: 'must be true or false' });
  }

  if (problems.length > 0) {
    throw AloftError.invalid(
      problems,
      problems.length === 1 ? undefined : `S3 store configuration: ${problems.length} problems`,
    );
  }

  const endpoint = base.endpoint ?? envEndpoint;
  const dflt: ResolvedEndpoint = {
    label: endpoint ? `endpoint ${endpoint}` : 'the default AWS endpoint',
    forcePathStyle: pathStyleFor(endpoint, base.forcePathStyle, envPathStyle),
  };
  if (endpoint !== undefined) dflt.endpoint = endpoint;
  const region = base.region ?? envRegion;
  if (region !== undefined) dflt.region = region;
  const credentials = base.credentials ?? envCredentials;
  if (credentials !== undefined) dflt.credentials = credentials;
  const profile = base.profile ?? env['AWS_PROFILE'];
  if (profile) dflt.profile = profile;

  const out: ResolvedS3Config = {
    default: dflt,
    named,
    routes,
    tuning,
    secrets: [...secrets],
  };
  if (envRegion !== undefined) out.envRegion = envRegion;
  if (envPathStyle !== undefined) out.envPathStyle = envPathStyle;
  return out;
}

/**
 * The settings for `s3://USER@SITE/...` (name 'USER@SITE'): SITE's entry overlaid with
 * USER@SITE's. Undefined when neither is registered.
 */
export function namedEndpoint(cfg: ResolvedS3Config, name: string): ResolvedEndpoint | undefined {
  const at = name.indexOf('@');
  const site = at >= 0 ? name.slice(at + 1) : name;
  const siteCfg = cfg.named.get(site);
  const userCfg = at >= 0 ? cfg.named.get(name) : undefined;
  if (!siteCfg && !userCfg) return undefined;
  const c: S3EndpointConfig = { ...siteCfg, ...userCfg };
  const endpoint = c.endpoint;
  const out: ResolvedEndpoint = {
    label: `S3 endpoint '${name}'${endpoint ? ` (${endpoint})` : ''}`,
    forcePathStyle: pathStyleFor(endpoint, c.forcePathStyle, cfg.envPathStyle),
  };
  if (endpoint !== undefined) out.endpoint = endpoint;
  const region = c.region ?? cfg.envRegion;
  if (region !== undefined) out.region = region;
  const credentials = c.credentials ?? cfg.default.credentials;
  if (credentials !== undefined) out.credentials = credentials;
  const profile = c.profile ?? cfg.default.profile;
  if (profile !== undefined) out.profile = profile;
  return out;
}

/** The route serving `url` (longest prefix), if any. */
export function routeFor(cfg: ResolvedS3Config, url: string): S3Route | undefined {
  return cfg.routes.find((r) => url.startsWith(r.url));
}

/** A route's settings over those of the endpoint the URL would use without it (`base`). */
export function routedEndpoint(
  cfg: ResolvedS3Config,
  route: S3Route,
  base: ResolvedEndpoint | undefined,
): ResolvedEndpoint {
  const endpoint = route.endpoint ?? base?.endpoint;
  const out: ResolvedEndpoint = {
    label: `S3 store ${route.url}${endpoint ? ` (${endpoint})` : ''}`,
    forcePathStyle:
      route.forcePathStyle ??
      (route.endpoint === undefined && base
        ? base.forcePathStyle
        : pathStyleFor(endpoint, undefined, cfg.envPathStyle)),
  };
  if (endpoint !== undefined) out.endpoint = endpoint;
  const region = route.region ?? base?.region ?? cfg.envRegion;
  if (region !== undefined) out.region = region;
  const credentials = route.credentials ?? base?.credentials;
  if (credentials !== undefined) out.credentials = credentials;
  const profile = route.profile ?? base?.profile;
  if (profile !== undefined) out.profile = profile;
  return out;
}

/** Where an s3:// URL points. `name` is USER@SITE for the Pegasus form. */
export interface S3Location {
  name?: string;
  bucket: string;
  /** Decoded object key; '' for a bucket-level URL (listing). */
  key: string;
}

function invalidUrl(url: string, message: string, hint?: string): AloftError {
  return AloftError.invalid({
    where: `S3 URL '${displayS3Url(url)}'`,
    message,
    hint: hint ?? 'use s3://bucket/key or, with a named endpoint, s3://user@site/bucket/key',
  });
}

/**
 * A URL for messages: unchanged unless it carries a password (then the user info is
 * redacted). The USER of s3://USER@SITE is a name in a config file, not a secret.
 */
export function displayS3Url(url: string): string {
  return /^[A-Za-z0-9+.-]+:\/\/[^/@:]*@/.test(url) || !/@/.test(url) ? url : redactUrl(url);
}

function decode(s: string, url: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalidUrl(url, `has a malformed %-escape in '${s}'`);
  }
}

export function checkKey(key: string, url: string): void {
  // S3 allows almost any key; we refuse the ones that turn into path traversal on the
  // file-backed servers (s3rver, MinIO's fs mode) and in local caches named after keys.
  if (Buffer.byteLength(key, 'utf8') > 1024) throw invalidUrl(url, 'has a key over 1024 bytes');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) throw invalidUrl(url, 'has control characters');
  if (key.split('/').some((s) => s === '.' || s === '..')) {
    throw invalidUrl(url, "has a '.' or '..' path segment in its key");
  }
}

/** Parse and validate an s3:// URL. `keyRequired` false allows s3://bucket[/prefix]. */
export function parseS3Url(url: string, keyRequired = true): S3Location {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalidUrl(url, 'is not a URL');
  }
  if (u.protocol !== 's3:') throw invalidUrl(url, `has scheme '${u.protocol}', expected 's3:'`);
  // The URL parser resolves '.' and '..' (also %2e) segments, which could silently move a
  // URL to another key — or, in the named form, another bucket. Refuse them as written.
  const rawPath = url.replace(/^[^:]*:\/\/[^/]*/, '').replace(/[?#].*$/, '');
  if (rawPath.split('/').some((s) => /^(\.|%2e){1,2}$/i.test(s))) {
    throw invalidUrl(url, "has a '.' or '..' path segment");
  }
  if (u.password !== '') {
    throw invalidUrl(
      url,
      'carries a password',
      'put credentials in the configuration (a Pegasus s3cfg [user@site] section, or AWS_*)',
    );
  }
  if (u.port !== '') throw invalidUrl(url, 'has a port', 'configure the endpoint instead');
  if (u.search !== '' || u.hash !== '') throw invalidUrl(url, 'has a query or fragment');
  const host = u.hostname;
  let path = u.pathname.startsWith('/') ? u.pathname.slice(1) : u.pathname;
  let name: string | undefined;
  let bucket: string;
  if (u.username !== '') {
    name = `${decode(u.username, url)}@${host}`;
    if (!NAME_RE.test(name)) throw invalidUrl(url, `names an invalid endpoint '${name}'`);
    const slash = path.indexOf('/');
    bucket = decode(slash < 0 ? path : path.slice(0, slash), url);
    path = slash < 0 ? '' : path.slice(slash + 1);
  } else {
    bucket = host;
  }
  if (!BUCKET_RE.test(bucket)) {
    throw invalidUrl(
      url,
      bucket === '' ? 'names no bucket' : `has an invalid bucket name '${bucket}'`,
      'bucket names are 3-255 letters, digits, . _ and -, starting and ending alphanumeric',
    );
  }
  const key = decode(path, url);
  if (keyRequired && key === '') throw invalidUrl(url, 'names no object key');
  if (key !== '') checkKey(key, url);
  return name === undefined ? { bucket, key } : { name, bucket, key };
}

const PATH_SAFE: Record<string, string> = {
  '%3A': ':',
  '%40': '@',
  '%26': '&',
  '%3D': '=',
  '%2B': '+',
  '%24': '$',
  '%2C': ',',
  '%3B': ';',
};

/** Percent-encode a key for a URL path, leaving '/' and path-safe punctuation readable. */
export function encodeKey(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/%(3A|40|26|3D|2B|24|2C|3B)/g, (m) => PATH_SAFE[m]!))
    .join('/');
}

/** The s3:// URL of `key` in the same bucket (and named endpoint) as `loc`. */
export function s3UrlOf(loc: S3Location, key: string): string {
  const authority =
    loc.name === undefined
      ? `${loc.bucket}/`
      : `${encodeURIComponent(loc.name.slice(0, loc.name.indexOf('@')))}@${loc.name.slice(
          loc.name.indexOf('@') + 1,
        )}/${loc.bucket}/`;
  return `s3://${authority}${encodeKey(key)}`;
}

/** Pegasus s3cfg keys aloft reads, and the Pegasus tuning keys it accepts and ignores. */
const S3CFG_KEYS = new Set([
  'endpoint',
  'region',
  'path_style',
  'access_key',
  'secret_key',
  'session_token',
]);
const S3CFG_IGNORED = new Set([
  'max_object_size',
  'multipart_uploads',
  'ranged_downloads',
  'batch_delete',
  'batch_delete_size',
  'max_thread',
  'calling_format',
]);

/**
 * Named endpoints from a Pegasus s3cfg file (INI): `[site]` sections with `endpoint`,
 * `[user@site]` sections with `access_key` / `secret_key`. Problems name the file, section
 * and key, never a value.
 */
export function parsePegasusS3Config(text: string, file: string): Record<string, S3EndpointConfig> {
  const problems: Problem[] = [];
  const raw = new Map<string, Map<string, { value: string; line: number }>>();
  let section: string | undefined;
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) return;
    const head = /^\[([^\]]*)\]$/.exec(t);
    if (head) {
      section = head[1]!.trim();
      if (!raw.has(section)) raw.set(section, new Map());
      return;
    }
    const kv = /^([^=:]+)[=:](.*)$/.exec(t);
    if (!kv || section === undefined) {
      problems.push({
        where: `${file}:${i + 1}`,
        message: section === undefined ? 'setting outside a [section]' : 'not a key = value line',
      });
      return;
    }
    raw.get(section)!.set(kv[1]!.trim().toLowerCase(), { value: kv[2]!.trim(), line: i + 1 });
  });

  const out: Record<string, S3EndpointConfig> = {};
  for (const [name, keys] of raw) {
    const where = (k: string): string => `${file} [${name}] ${k}`;
    if (!NAME_RE.test(name)) {
      problems.push({
        where: `${file} [${name}]`,
        message: 'is not a valid section name',
        hint: 'use [site] for an endpoint and [user@site] for its credentials',
      });
      continue;
    }
    const c: S3EndpointConfig = {};
    for (const [k, { line }] of keys) {
      if (!S3CFG_KEYS.has(k) && !S3CFG_IGNORED.has(k)) {
        problems.push({
          where: `${file}:${line} [${name}] ${k}`,
          message: 'is not a known s3cfg key',
          hint: `use one of ${[...S3CFG_KEYS].join(', ')}`,
        });
      }
    }
    const get = (k: string): string | undefined => keys.get(k)?.value;
    const endpoint = get('endpoint');
    if (endpoint !== undefined) {
      const e = checkEndpoint(endpoint, where('endpoint'), problems);
      if (e !== undefined) c.endpoint = e;
    }
    const region = get('region');
    if (region !== undefined) {
      const r = checkRegion(region, where('region'), problems);
      if (r !== undefined) c.region = r;
    }
    const ps = get('path_style');
    if (ps !== undefined) {
      const b = parseBool(ps);
      if (b === undefined) problems.push({ where: where('path_style'), message: 'must be 1 or 0' });
      else c.forcePathStyle = b;
    }
    const ak = get('access_key');
    const sk = get('secret_key');
    if (ak !== undefined || sk !== undefined) {
      if (!ak || !sk) {
        problems.push({
          where: where(ak ? 'secret_key' : 'access_key'),
          message: `is missing or empty while ${ak ? 'access_key' : 'secret_key'} is set`,
        });
      } else {
        c.credentials = { accessKeyId: ak, secretAccessKey: sk };
        const st = get('session_token');
        if (st) c.credentials.sessionToken = st;
      }
    }
    out[name] = c;
  }
  if (problems.length > 0) {
    throw AloftError.invalid(
      problems,
      problems.length === 1 ? undefined : `${file}: ${problems.length} problems`,
    );
  }
  return out;
}

/**
 * What the site catalog says about a site's stores beyond their URLs: how agents reach its
 * s3:// stores, and how much a store may hold under `--cleanup constraint`.
 *
 * S3 settings are site profiles in the `aloft` namespace. Pegasus keeps S3 endpoints outside
 * the site catalog (pegasus-s3's s3cfg); a namespace of our own keeps the file valid Pegasus:
 *   aloft.s3.endpoint    http(s)://host[:port] of the server (MinIO, Ceph RGW, s3rver); no
 *                        credentials, query or fragment
 *   aloft.s3.region      region name (letters, digits, - and _), e.g. us-east-1
 *   aloft.s3.path-style  true or false (also 1/0, yes/no): path-style addressing
 * They apply to the site's s3:// stores (its file servers, and its store when that comes from
 * `storeRoot`) and travel in the plan as StoreAccess entries on every job whose URLs fall in
 * those stores, so the agent staging for the site reaches them with these settings and only
 * for those URLs. Credentials never come from the catalog: a key such as
 * `aloft.s3.secret-key` is refused, agents take them from their own environment
 * (AWS_ACCESS_KEY_ID, ...) or s3cfg. `env` profiles such as AWS_ENDPOINT_URL are not read:
 * a site's env profiles are the environment of its jobs, not of the agent's transfers.
 *
 * maxspace (constraint cleanup) is Pegasus' `pegasus.file.cleanup.constraint.maxspace`,
 * given as a profile: `pegasus: {file.cleanup.constraint.maxspace: ...}` on the site (the
 * full property name is accepted as the key too), else in the workflow's pegasus profiles,
 * which then apply to every site as Pegasus' property does. Bytes, or a size with a unit
 * ('20GB', binary units).
 */
import type { Profiles, SiteCatalog } from '../model/index.js';
import { parseByteSize } from '../model/index.js';
import type { ProblemList } from './problems.js';

export interface S3Settings {
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
}

export interface MaxSpace {
  bytes: number;
  /** Where it was given, for reasons: `site catalog (site X)` or `workflow profiles`. */
  from: string;
}

export const MAXSPACE_KEY = 'file.cleanup.constraint.maxspace';
const MAXSPACE_PROPERTY = `pegasus.${MAXSPACE_KEY}`;

const S3_KEYS = new Set(['s3.endpoint', 's3.region', 's3.path-style']);
const SECRET_KEY = /(secret|access[-_.]?key|password|token|credential)/i;
const REGION = /^[A-Za-z0-9_-]{1,64}$/;

export class SiteStoreSettings {
  private readonly s3BySite = new Map<string, S3Settings>();
  private readonly maxBySite = new Map<string, MaxSpace>();
  private readonly workflowMax: MaxSpace | undefined;

  constructor(
    catalog: SiteCatalog,
    workflowProfiles: Profiles,
    sources: { workflow: string; sites?: string },
    problems: ProblemList,
  ) {
    const sitesSource = sources.sites ?? sources.workflow;
    for (const site of catalog.sites) {
      const where = `${sitesSource}: site ${site.name}`;
      const s3 = readS3(site.profiles['aloft'], where, problems);
      if (s3) this.s3BySite.set(site.name, s3);
      const max = readMaxSpace(site.profiles['pegasus'], where, problems);
      if (max !== undefined) {
        this.maxBySite.set(site.name, { bytes: max, from: `site catalog (site ${site.name})` });
      }
    }
    const max = readMaxSpace(
      workflowProfiles['pegasus'],
      `${sources.workflow}: workflow profiles`,
      problems,
    );
    if (max !== undefined) this.workflowMax = { bytes: max, from: 'workflow profiles' };
  }

  /** The site's S3 settings, when its catalog entry gives any. */
  s3(site: string): S3Settings | undefined {
    return this.s3BySite.get(site);
  }

  /** Sites with S3 settings, in catalog order. */
  s3Sites(): string[] {
    return [...this.s3BySite.keys()];
  }

  /** The site's maxspace: its own, else the workflow's; undefined when neither is given. */
  maxSpace(site: string): MaxSpace | undefined {
    return this.maxBySite.get(site) ?? this.workflowMax;
  }

  /** Is a maxspace given anywhere? */
  get anyMaxSpace(): boolean {
    return this.maxBySite.size > 0 || this.workflowMax !== undefined;
  }
}

function readS3(
  values: Record<string, string> | undefined,
  where: string,
  problems: ProblemList,
): S3Settings | undefined {
  if (!values) return undefined;
  let out: S3Settings | undefined;
  for (const key of Object.keys(values)) {
    if (!key.startsWith('s3.')) continue;
    const at = `${where}: profile aloft.${key}`;
    const raw = String(values[key]).trim();
    if (SECRET_KEY.test(key)) {
      // Never echo the value: it may be a secret.
      problems.add('site s3 settings', {
        where: at,
        message: 'credentials do not belong in the site catalog (it ends up in plans and logs)',
        hint: 'remove it; agents read AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE or their s3cfg',
      });
      continue;
    }
    if (!S3_KEYS.has(key)) {
      problems.add('site s3 settings', {
        where: at,
        message: `unknown S3 setting '${key}'`,
        hint: `use ${[...S3_KEYS].map((k) => `aloft.${k}`).join(', ')}`,
      });
      continue;
    }
    if (key === 's3.endpoint') {
      const bad = checkEndpoint(raw);
      if (bad) {
        problems.add('site s3 settings', {
          where: at,
          message: bad,
          hint: 'give http(s)://host[:port] of the S3 server, e.g. http://127.0.0.1:9000',
        });
      } else (out ??= {}).endpoint = raw;
    } else if (key === 's3.region') {
      if (!REGION.test(raw)) {
        problems.add('site s3 settings', {
          where: at,
          message: `${JSON.stringify(raw)} is not a region name`,
          hint: 'use letters, digits, - and _, e.g. us-east-1',
        });
      } else (out ??= {}).region = raw;
    } else {
      const b = parseBool(raw);
      if (b === undefined) {
        problems.add('site s3 settings', {
          where: at,
          message: `${JSON.stringify(raw)} is not true or false`,
          hint: 'use true (path-style URLs: http://host/bucket/key) or false',
        });
      } else (out ??= {}).pathStyle = b;
    }
  }
  return out;
}

/** Why `raw` is not an acceptable endpoint, or undefined when it is. */
function checkEndpoint(raw: string): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return `${JSON.stringify(raw.replace(/\/\/[^/@]*@/, '//[redacted]@'))} is not a URL`;
  }
  if (u.username !== '' || u.password !== '') {
    return 'the endpoint URL carries credentials; they do not belong in the site catalog';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return `${JSON.stringify(raw)} is not an http(s) URL`;
  }
  if (u.search !== '' || u.hash !== '') return `${JSON.stringify(raw)} has a query or fragment`;
  return undefined;
}

function parseBool(v: string): boolean | undefined {
  const s = v.toLowerCase();
  if (s === 'true' || s === '1' || s === 'yes' || s === 'on') return true;
  if (s === 'false' || s === '0' || s === 'no' || s === 'off') return false;
  return undefined;
}

function readMaxSpace(
  values: Record<string, string> | undefined,
  where: string,
  problems: ProblemList,
): number | undefined {
  if (!values) return undefined;
  const key = values[MAXSPACE_KEY] !== undefined ? MAXSPACE_KEY : MAXSPACE_PROPERTY;
  const raw = values[key];
  if (raw === undefined) return undefined;
  const bytes = parseByteSize(String(raw));
  if (bytes === undefined || bytes <= 0) {
    problems.add('maxspace', {
      where: `${where}: profile pegasus.${key}`,
      message: `${JSON.stringify(raw)} is not a positive size in bytes`,
      hint: "give bytes (10737418240) or a size with a unit ('10GB')",
    });
    return undefined;
  }
  return bytes;
}

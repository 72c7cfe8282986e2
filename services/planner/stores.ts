/**
 * Where files live (Pegasus nonsharedfs style: each compute site's store is its staging
 * area), read from the site catalog's `directories` and their `fileServers`.
 *
 * A compute site's store is its directory of type sharedScratch (else localScratch); the
 * output store is the output site's localStorage (else sharedStorage) directory, or
 * `options.outputUrl` when given. Within the directory, Pegasus' file server semantics:
 * - files are written (stage-in, job outputs, inter-site copies, deletions) through the first
 *   file server with operation `put` or `all`: that base URL is the store's identity;
 * - files are read (job inputs, stage-out and inter-site sources, registered replicas) through
 *   the first file server with operation `get` or `all`, else through the put server;
 * - a directory without file servers is its `path` (a file:// URL);
 * - a directory whose file servers are all `get` is a problem for a site that stores files:
 *   nothing could be written there.
 * Sites the catalog does not describe use `${storeRoot}${site}/`; with no output directory the
 * output store is `${storeRoot}output/`. Every base URL ends in '/'.
 *
 * s3:// URLs are read as lib/store's s3 store reads them: `s3://bucket/prefix` (the default
 * endpoint) or Pegasus' `s3://user@site/bucket/prefix` (a named endpoint); the site catalog
 * reader validates them, and site-stores.ts reads the settings agents use to reach them.
 */
import type { Problem } from '../../lib/errors/index.js';
import type { Directory, DirectoryType, SiteCatalog } from '../model/index.js';
import type { PlanOptions } from './plan-types.js';
import { normaliseOptions } from './options.js';
import { asBaseUrl } from './replicas.js';

/** Where a store is written and read: base URLs ending in '/' (equal unless a get server differs). */
export interface StoreLocation {
  put: string;
  get: string;
}

const SCRATCH: DirectoryType[] = ['sharedScratch', 'localScratch'];
const STORAGE: DirectoryType[] = ['localStorage', 'sharedStorage'];

function directoryLocation(
  dirs: readonly Directory[],
  types: DirectoryType[],
  site: string,
  problems: Problem[],
): StoreLocation | undefined {
  for (const type of types) {
    for (const d of dirs) {
      if (d.type !== type) continue;
      if (d.fileServers.length === 0) {
        if (!d.path) continue;
        const url = asBaseUrl(d.path);
        return { put: url, get: url };
      }
      const put = d.fileServers.find((s) => s.operation === 'all' || s.operation === 'put');
      const get = d.fileServers.find((s) => s.operation === 'all' || s.operation === 'get');
      if (!put) {
        problems.push({
          where: `site ${site}: directory ${type}`,
          message: `has only 'get' file servers (${d.fileServers.map((s) => s.url).join(', ')}): aloft cannot write files there`,
          hint: "add a file server with operation 'put' or 'all' to the directory",
        });
        return undefined;
      }
      const putUrl = asBaseUrl(put.url);
      return { put: putUrl, get: get ? asBaseUrl(get.url) : putUrl };
    }
  }
  return undefined;
}

export class Stores {
  private readonly bySite = new Map<string, StoreLocation>();
  /** The output store: where stageOut files are written and registered replicas are read. */
  readonly output: StoreLocation;
  /** Problems found while resolving stores (sites whose storage cannot be written). */
  readonly problems: Problem[] = [];

  constructor(
    private readonly catalog: SiteCatalog,
    private readonly options: PlanOptions,
  ) {
    const fallback = `${options.storeRoot}output/`;
    if (options.outputUrl !== undefined) {
      this.output = { put: options.outputUrl, get: options.outputUrl };
    } else {
      const out = this.catalog.sites.find((s) => s.name === options.outputSite);
      this.output = (out &&
        directoryLocation(out.directories, STORAGE, out.name, this.problems)) ?? {
        put: fallback,
        get: fallback,
      };
    }
  }

  /** The output store's base URL for writing (the identity of the output store). */
  get outputStore(): string {
    return this.output.put;
  }

  /** The store base URL (for writing) of a compute site. */
  of(site: string): string {
    return this.location(site).put;
  }

  /** Where a compute site's store is written and read. */
  location(site: string): StoreLocation {
    let loc = this.bySite.get(site);
    if (loc === undefined) {
      const entry = this.catalog.sites.find((s) => s.name === site);
      const fallback = `${this.options.storeRoot}${site}/`;
      loc = (entry && directoryLocation(entry.directories, SCRATCH, site, this.problems)) ?? {
        put: fallback,
        get: fallback,
      };
      this.bySite.set(site, loc);
    }
    return loc;
  }
}

/**
 * The output store a plan with these options would write to (`options.outputUrl`, else the
 * output site's storage, else `${storeRoot}output/`).
 */
export function outputStoreUrl(sites: SiteCatalog, options: PlanOptions): string {
  return new Stores(sites, normaliseOptions(options)).output.put;
}

/**
 * Both base URLs of the output store, for callers that look for existing outputs before
 * planning (they read through `get`).
 */
export function outputStoreLocation(sites: SiteCatalog, options: PlanOptions): StoreLocation {
  return new Stores(sites, normaliseOptions(options)).output;
}

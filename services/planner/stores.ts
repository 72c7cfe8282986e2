/**
 * Where files live (Pegasus nonsharedfs style: each compute site's store is its staging
 * area). A compute site's store is its site-catalog directory of type sharedScratch (else
 * localScratch): the first file server with operation all/put, else the directory path;
 * sites the catalog does not describe use `${storeRoot}${site}/`. The output store is
 * `options.outputUrl`, else the output site's localStorage/sharedStorage directory, else
 * `${storeRoot}output/`. Every base URL ends in '/'.
 */
import type { Directory, DirectoryType, SiteCatalog } from '../model/index.js';
import type { PlanOptions } from './plan-types.js';
import { normaliseOptions } from './options.js';
import { asBaseUrl } from './replicas.js';

function directoryUrl(dirs: readonly Directory[], types: DirectoryType[]): string | undefined {
  for (const type of types) {
    for (const d of dirs) {
      if (d.type !== type) continue;
      const server = d.fileServers.find((s) => s.operation === 'all' || s.operation === 'put');
      if (server) return asBaseUrl(server.url);
      if (d.path) return asBaseUrl(d.path);
    }
  }
  return undefined;
}

export class Stores {
  private readonly bySite = new Map<string, string>();
  readonly outputStore: string;

  constructor(
    private readonly catalog: SiteCatalog,
    private readonly options: PlanOptions,
  ) {
    const out = this.catalog.sites.find((s) => s.name === options.outputSite);
    this.outputStore =
      options.outputUrl ??
      (out && directoryUrl(out.directories, ['localStorage', 'sharedStorage'])) ??
      `${options.storeRoot}output/`;
  }

  /** The store base URL of a compute site. */
  of(site: string): string {
    let url = this.bySite.get(site);
    if (url === undefined) {
      const entry = this.catalog.sites.find((s) => s.name === site);
      url =
        (entry && directoryUrl(entry.directories, ['sharedScratch', 'localScratch'])) ??
        `${this.options.storeRoot}${site}/`;
      this.bySite.set(site, url);
    }
    return url;
  }
}

/**
 * The output store a plan with these options would use (`options.outputUrl`, else the output
 * site's storage, else `${storeRoot}output/`), for callers that list it to fill
 * `options.available` before planning.
 */
export function outputStoreUrl(sites: SiteCatalog, options: PlanOptions): string {
  return new Stores(sites, normaliseOptions(options)).outputStore;
}

/**
 * Pegasus 5 site catalog (sc-5.0.yml): sites, their directories (storage) and file servers.
 * Standalone file (`sites.yml`) or inline in a workflow (`siteCatalog:`, which may also be a
 * `$ref` to a hosted catalog: aloft does not fetch it and says so in a warning).
 *
 * s3:// file server URLs are checked as the s3 store reads them (lib/store): `s3://bucket/
 * prefix` or Pegasus' `s3://user@site/bucket/prefix`, a valid bucket name, no password, no
 * port, no query; a bad one is a problem naming the site, the directory and the fix.
 */
import { AloftError, isAloftError } from '../../../lib/errors/index.js';
import { parseS3Url } from '../../../lib/store/index.js';
import type { Directory, DirectoryType, FileServer, Site, SiteCatalog } from '../../model/types.js';
import { readMetadata, readCatalogHeader, readProfiles } from './common.js';
import { DocReader, KeyPath } from './doc-reader.js';

const CATALOG_KEYS: ReadonlySet<string> = new Set(['pegasus', 'sites']);
const SITE_KEYS: ReadonlySet<string> = new Set([
  'name',
  'arch',
  'os.type',
  'os.release',
  'os.version',
  'directories',
  'grids',
  'profiles',
  'metadata',
]);
const DIRECTORY_KEYS: ReadonlySet<string> = new Set([
  'type',
  'path',
  'sharedFileSystem',
  'freeSize',
  'totalSize',
  'fileServers',
]);
const FILE_SERVER_KEYS: ReadonlySet<string> = new Set(['url', 'operation', 'profiles']);

const DIRECTORY_TYPES: readonly DirectoryType[] = [
  'sharedScratch',
  'sharedStorage',
  'localScratch',
  'localStorage',
];
const OPERATIONS: readonly FileServer['operation'][] = ['all', 'get', 'put'];

export function readSiteCatalog(
  r: DocReader,
  v: unknown,
  at: KeyPath,
  standalone: boolean,
): SiteCatalog {
  const out: SiteCatalog = { sites: [] };
  const doc = readCatalogHeader(r, v, at, standalone, 'site catalog', 'sites');
  if (!doc) return out;
  r.checkKeys(doc, CATALOG_KEYS, at, 'the site catalog');
  const listAt = at.key('sites');
  const list = r.list(r.required(doc, 'sites', at, 'the site catalog'), listAt, undefined);
  if (!list) return out;
  for (let i = 0; i < list.length; i++) {
    const site = readSite(r, list[i], listAt.index(i));
    if (site) out.sites.push(site);
  }
  return out;
}

function readSite(r: DocReader, v: unknown, at: KeyPath): Site | undefined {
  const obj = r.map(v, at, undefined, 'a site (a map with name and directories)');
  if (!obj) {
    if (v === null || v === undefined) r.problem(at, undefined, 'empty site entry');
    return undefined;
  }
  const rawName = obj['name'];
  const here = typeof rawName === 'string' ? at.labelled('site', rawName) : at;
  r.checkKeys(obj, SITE_KEYS, here, 'a site');
  const nameValue = r.required(obj, 'name', here, 'a site');
  const name = nameValue === undefined ? undefined : r.name(nameValue, here, 'name', 'site name');
  const directories: Directory[] = [];
  const dirsAt = here.key('directories');
  const dirList = r.list(obj['directories'], dirsAt, undefined);
  if (dirList) {
    for (let i = 0; i < dirList.length; i++) {
      const d = readDirectory(r, dirList[i], dirsAt.index(i));
      if (d) directories.push(d);
    }
  }
  const profiles = readProfiles(r, obj['profiles'], here, 'profiles');
  const metadata = readMetadata(r, obj['metadata'], here, 'metadata');
  const arch = r.string(obj['arch'], here, 'arch');
  const osType = r.string(obj['os.type'], here, 'os.type');
  const osRelease = r.string(obj['os.release'], here, 'os.release');
  const osVersion = r.string(obj['os.version'], here, 'os.version');
  if (name === undefined) return undefined;
  const site: Site = { name, directories, profiles, metadata };
  if (arch !== undefined) site.arch = arch;
  if (osType !== undefined) site.osType = osType;
  if (osRelease !== undefined) site.osRelease = osRelease;
  if (osVersion !== undefined) site.osVersion = osVersion;
  return site;
}

function readDirectory(r: DocReader, v: unknown, at: KeyPath): Directory | undefined {
  const obj = r.map(v, at, undefined, 'a directory (a map with type, path and fileServers)');
  if (!obj) {
    if (v === null || v === undefined) r.problem(at, undefined, 'empty directory entry');
    return undefined;
  }
  r.checkKeys(obj, DIRECTORY_KEYS, at, 'a directory');
  const typeValue = r.required(obj, 'type', at, 'a directory');
  const type =
    typeValue === undefined ? undefined : r.oneOf(typeValue, at, 'type', DIRECTORY_TYPES);
  // The schema does not require a path (a directory may be known only by its URLs).
  const path = r.string(obj['path'], at, 'path') ?? '';
  const sharedFileSystem = r.bool(obj['sharedFileSystem'], at, 'sharedFileSystem') ?? false;
  const freeSize = r.size(obj['freeSize'], at, 'freeSize');
  const totalSize = r.size(obj['totalSize'], at, 'totalSize');
  const fileServers: FileServer[] = [];
  const fsAt = at.key('fileServers');
  const fsList = r.list(obj['fileServers'], fsAt, undefined);
  if (fsList) {
    for (let i = 0; i < fsList.length; i++) {
      const f = readFileServer(r, fsList[i], fsAt.index(i));
      if (f) fileServers.push(f);
    }
  }
  if (type === undefined) return undefined;
  const d: Directory = { type, path, sharedFileSystem, fileServers };
  if (freeSize !== undefined) d.freeSize = freeSize;
  if (totalSize !== undefined) d.totalSize = totalSize;
  return d;
}

function readFileServer(r: DocReader, v: unknown, at: KeyPath): FileServer | undefined {
  const obj = r.map(v, at, undefined, 'a file server (a map with url and operation)');
  if (!obj) {
    if (v === null || v === undefined) r.problem(at, undefined, 'empty file server entry');
    return undefined;
  }
  r.checkKeys(obj, FILE_SERVER_KEYS, at, 'a file server');
  const url = r.string(r.required(obj, 'url', at, 'a file server'), at, 'url');
  const operation =
    obj['operation'] == null ? 'all' : r.oneOf(obj['operation'], at, 'operation', OPERATIONS);
  if (url === undefined || operation === undefined) return undefined;
  if (url === '') {
    r.problem(at, 'url', 'url is empty');
    return undefined;
  }
  if (/^s3:/i.test(url)) {
    try {
      parseS3Url(url, false);
    } catch (e) {
      if (!isAloftError(e)) throw e;
      for (const p of e.problems) r.problem(at, 'url', `${p.where} ${p.message}`, p.hint);
      if (e.problems.length === 0) r.problem(at, 'url', e.message);
      return undefined;
    }
  }
  return { url, operation };
}

/** Pure converter: a parsed site catalog document → the model (throws on problems). */
export function siteCatalogFromDocument(
  doc: unknown,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
  warnings?: string[],
): SiteCatalog {
  const r = new DocReader(source, env, [], warnings);
  const sc = readSiteCatalog(r, doc, KeyPath.root(), true);
  if (r.problems.length > 0) throw AloftError.invalid(r.problems);
  return sc;
}

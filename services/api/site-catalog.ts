/**
 * Site catalog authoring (Pegasus' Python API `SiteCatalog`, `Site`, `Directory`,
 * `FileServer`): the places jobs run and the storage they expose.
 */
import { AloftError } from '../../lib/errors/index.js';
import type { DirectoryType, FileServer as FileServerModel } from '../model/types.js';
import { assertSiteName } from '../model/names.js';
import { Annotated, compact, metadataDoc, profilesDoc } from './annotated.js';
import type { OsOptions } from './transformation-catalog.js';
import { PEGASUS_VERSION } from './version.js';
import { writeYamlDocument } from './write-document.js';

export type Operation = FileServerModel['operation'];

export class FileServer {
  static readonly ALL: Operation = 'all';
  static readonly GET: Operation = 'get';
  static readonly PUT: Operation = 'put';

  constructor(
    readonly url: string,
    readonly operation: Operation = 'all',
  ) {
    if (typeof url !== 'string' || url === '')
      throw AloftError.invalid({ where: 'FileServer', message: 'url is empty' });
    if (!['all', 'get', 'put'].includes(operation))
      throw AloftError.invalid({
        where: `FileServer(${JSON.stringify(url)})`,
        message: `operation '${operation}' is not one of all, get, put`,
      });
  }

  toDocument(): Record<string, unknown> {
    return { url: this.url, operation: this.operation };
  }
}

export class Directory {
  static readonly SHARED_SCRATCH: DirectoryType = 'sharedScratch';
  static readonly SHARED_STORAGE: DirectoryType = 'sharedStorage';
  static readonly LOCAL_SCRATCH: DirectoryType = 'localScratch';
  static readonly LOCAL_STORAGE: DirectoryType = 'localStorage';

  readonly fileServers: FileServer[] = [];

  constructor(
    readonly type: DirectoryType,
    readonly path: string,
    readonly opts: { sharedFileSystem?: boolean } = {},
  ) {
    if (!['sharedScratch', 'sharedStorage', 'localScratch', 'localStorage'].includes(type))
      throw AloftError.invalid({
        where: `Directory(${JSON.stringify(type)})`,
        message: `directory type '${type}' is not one of sharedScratch, sharedStorage, localScratch, localStorage`,
      });
  }

  addFileServers(...servers: FileServer[]): this {
    this.fileServers.push(...servers);
    return this;
  }

  toDocument(): Record<string, unknown> {
    return {
      type: this.type,
      path: this.path,
      sharedFileSystem: this.opts.sharedFileSystem ?? false,
      fileServers: this.fileServers.map((f) => f.toDocument()),
    };
  }
}

export class Site extends Annotated {
  readonly name: string;
  readonly directories: Directory[] = [];

  constructor(
    name: string,
    readonly os: OsOptions = {},
  ) {
    super();
    this.name = assertSiteName(name, `Site(${JSON.stringify(name)})`);
  }

  protected describe(): string {
    return `Site(${this.name})`;
  }

  addDirectories(...directories: Directory[]): this {
    this.directories.push(...directories);
    return this;
  }

  toDocument(): Record<string, unknown> {
    return compact({
      name: this.name,
      arch: this.os.arch,
      'os.type': this.os.osType,
      'os.release': this.os.osRelease,
      'os.version': this.os.osVersion,
      directories: this.directories.map((d) => d.toDocument()),
      profiles: profilesDoc(this.profiles),
      metadata: metadataDoc(this.metadata),
    });
  }
}

export class SiteCatalog {
  readonly sites: Site[] = [];

  addSites(...sites: Site[]): this {
    for (const s of sites) {
      if (this.sites.some((x) => x.name === s.name))
        throw AloftError.invalid({
          where: 'SiteCatalog.addSites',
          message: `site '${s.name}' was already added`,
        });
      this.sites.push(s);
    }
    return this;
  }

  /** The catalog as a Pegasus 5 document; `inline` leaves out the `pegasus:` key. */
  toDocument(inline = false): Record<string, unknown> {
    return compact({
      pegasus: inline ? undefined : PEGASUS_VERSION,
      sites: this.sites.map((s) => s.toDocument()),
    });
  }

  write(file = 'sites.yml', opts: { signal?: AbortSignal } = {}): Promise<void> {
    return writeYamlDocument(file, this.toDocument(), opts);
  }
}

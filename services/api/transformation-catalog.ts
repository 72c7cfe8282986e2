/**
 * Transformation catalog authoring (Pegasus' Python API `TransformationCatalog`,
 * `Transformation`, `TransformationSite`, `Container`): where executables and containers are.
 */
import { AloftError } from '../../lib/errors/index.js';
import type { ContainerType, TransformationType } from '../model/types.js';
import { assertSafeName, assertSiteName } from '../model/names.js';
import { Annotated, compact, metadataDoc, profilesDoc } from './annotated.js';
import { PEGASUS_VERSION } from './version.js';
import { writeYamlDocument } from './write-document.js';

const SHA256 = /^[0-9a-fA-F]{64}$/;

function checksumDoc(
  checksum: { sha256: string } | undefined,
  where: string,
): { sha256: string } | undefined {
  if (checksum === undefined) return undefined;
  if (!SHA256.test(checksum.sha256))
    throw AloftError.invalid({ where, message: 'checksum.sha256 must be 64 hex digits' });
  return { sha256: checksum.sha256.toLowerCase() };
}

export interface OsOptions {
  arch?: string;
  osType?: string;
  osRelease?: string;
  osVersion?: string;
}

function osDoc(o: OsOptions): Record<string, string | undefined> {
  return {
    arch: o.arch,
    'os.type': o.osType,
    'os.release': o.osRelease,
    'os.version': o.osVersion,
  };
}

export interface TransformationSiteOptions extends OsOptions {
  /** The executable is copied to the job (Pegasus `stageable`); default installed. */
  isStageable?: boolean;
  /** Stageable executable used in place rather than staged. */
  bypassStaging?: boolean;
  /** Name of a Container in the same catalog (or the Container itself). */
  container?: string | Container;
}

/** Where one transformation's executable is, on one site. */
export class TransformationSite extends Annotated {
  readonly name: string;
  readonly pfn: string;
  readonly type: TransformationType;
  readonly options: Readonly<TransformationSiteOptions>;
  readonly container: string | undefined;

  constructor(name: string, pfn: string, opts: TransformationSiteOptions = {}) {
    super();
    this.name = assertSiteName(name, `TransformationSite(${JSON.stringify(name)})`);
    if (typeof pfn !== 'string' || pfn === '')
      throw AloftError.invalid({ where: this.describe(), message: 'pfn is empty' });
    this.pfn = pfn;
    this.type = opts.isStageable ? 'stageable' : 'installed';
    this.options = { ...opts };
    const c = opts.container;
    this.container =
      c === undefined
        ? undefined
        : assertSafeName(
            c instanceof Container ? c.name : c,
            'container name',
            `${this.describe()}: container`,
          );
  }

  protected describe(): string {
    return `TransformationSite(${this.name})`;
  }

  toDocument(): Record<string, unknown> {
    return compact({
      name: this.name,
      ...osDoc(this.options),
      pfn: this.pfn,
      type: this.type,
      bypass: this.options.bypassStaging ? true : undefined,
      container: this.container,
      profiles: profilesDoc(this.profiles),
      metadata: metadataDoc(this.metadata),
    });
  }
}

export interface TransformationOptions extends TransformationSiteOptions {
  namespace?: string;
  version?: string;
  /** With `pfn`: shorthand for `.addSites(new TransformationSite(site, pfn, opts))`. */
  site?: string;
  pfn?: string;
  checksum?: { sha256: string };
}

export class Transformation extends Annotated {
  readonly name: string;
  readonly namespace: string | undefined;
  readonly version: string | undefined;
  readonly sites: TransformationSite[] = [];
  readonly requires: string[] = [];
  private readonly checksum: { sha256: string } | undefined;

  constructor(name: string, opts: TransformationOptions = {}) {
    super();
    const where = `Transformation(${JSON.stringify(name)})`;
    this.name = assertSafeName(name, 'transformation name', where);
    this.namespace =
      opts.namespace === undefined
        ? undefined
        : assertSafeName(opts.namespace, 'name', `${where}: namespace`);
    this.version =
      opts.version === undefined
        ? undefined
        : assertSafeName(opts.version, 'name', `${where}: version`);
    this.checksum = checksumDoc(opts.checksum, where);
    if ((opts.site === undefined) !== (opts.pfn === undefined))
      throw AloftError.invalid({
        where,
        message: 'give both site and pfn, or neither (then add sites with addSites)',
      });
    if (opts.site !== undefined && opts.pfn !== undefined)
      this.sites.push(new TransformationSite(opts.site, opts.pfn, opts));
  }

  protected describe(): string {
    return `Transformation(${this.name})`;
  }

  /** `namespace::name:version` as Pegasus writes it in `requires`. */
  get fullName(): string {
    return `${this.namespace ? `${this.namespace}::` : ''}${this.name}${this.version ? `:${this.version}` : ''}`;
  }

  addSites(...sites: TransformationSite[]): this {
    for (const s of sites) {
      if (this.sites.some((x) => x.name === s.name))
        throw AloftError.invalid({
          where: this.describe(),
          message: `site '${s.name}' was already added`,
        });
      this.sites.push(s);
    }
    return this;
  }

  /** This transformation needs another one staged with it (Pegasus `requires`). */
  addRequirement(required: Transformation | string): this {
    this.requires.push(required instanceof Transformation ? required.fullName : required);
    return this;
  }

  toDocument(): Record<string, unknown> {
    if (this.sites.length === 0)
      throw AloftError.invalid({
        where: this.describe(),
        message: 'a transformation needs at least one site',
        hint: 'give {site, pfn} to the constructor or call addSites(new TransformationSite(...))',
      });
    return compact({
      namespace: this.namespace,
      name: this.name,
      version: this.version,
      requires: this.requires.length > 0 ? [...this.requires] : undefined,
      sites: this.sites.map((s) => s.toDocument()),
      profiles: profilesDoc(this.profiles),
      metadata: metadataDoc(this.metadata),
      checksum: this.checksum,
    });
  }
}

export interface ContainerOptions {
  mounts?: string[];
  /** Site where the image file is, for images given as a file URL. */
  imageSite?: string;
  checksum?: { sha256: string };
  bypassStaging?: boolean;
}

export class Container extends Annotated {
  static readonly DOCKER: ContainerType = 'docker';
  static readonly SINGULARITY: ContainerType = 'singularity';
  static readonly SHIFTER: ContainerType = 'shifter';

  readonly name: string;
  readonly type: ContainerType;
  readonly image: string;
  readonly options: Readonly<ContainerOptions>;
  private readonly checksum: { sha256: string } | undefined;

  constructor(name: string, type: ContainerType, image: string, opts: ContainerOptions = {}) {
    super();
    const where = `Container(${JSON.stringify(name)})`;
    this.name = assertSafeName(name, 'container name', where);
    if (!['docker', 'singularity', 'shifter'].includes(type))
      throw AloftError.invalid({
        where,
        message: `container type '${type}' is not one of docker, singularity, shifter`,
      });
    if (typeof image !== 'string' || image === '')
      throw AloftError.invalid({ where, message: 'image is empty' });
    this.type = type;
    this.image = image;
    if (opts.imageSite !== undefined) assertSiteName(opts.imageSite, `${where}: imageSite`);
    this.options = { ...opts, mounts: [...(opts.mounts ?? [])] };
    this.checksum = checksumDoc(opts.checksum, where);
  }

  protected describe(): string {
    return `Container(${this.name})`;
  }

  toDocument(): Record<string, unknown> {
    return compact({
      name: this.name,
      type: this.type,
      image: this.image,
      'image.site': this.options.imageSite,
      mounts: this.options.mounts?.length ? [...this.options.mounts] : undefined,
      bypass: this.options.bypassStaging ? true : undefined,
      checksum: this.checksum,
      profiles: profilesDoc(this.profiles),
      metadata: metadataDoc(this.metadata),
    });
  }
}

export class TransformationCatalog {
  readonly transformations: Transformation[] = [];
  readonly containers: Container[] = [];

  addTransformations(...transformations: Transformation[]): this {
    for (const t of transformations) {
      if (
        this.transformations.some(
          (x) => x.name === t.name && x.namespace === t.namespace && x.version === t.version,
        )
      )
        throw AloftError.invalid({
          where: 'TransformationCatalog.addTransformations',
          message: `transformation '${t.fullName}' was already added`,
        });
      this.transformations.push(t);
    }
    return this;
  }

  addContainers(...containers: Container[]): this {
    for (const c of containers) {
      if (this.containers.some((x) => x.name === c.name))
        throw AloftError.invalid({
          where: 'TransformationCatalog.addContainers',
          message: `container '${c.name}' was already added`,
        });
      this.containers.push(c);
    }
    return this;
  }

  /** The catalog as a Pegasus 5 document; `inline` leaves out the `pegasus:` key. */
  toDocument(inline = false): Record<string, unknown> {
    return compact({
      pegasus: inline ? undefined : PEGASUS_VERSION,
      transformations: this.transformations.map((t) => t.toDocument()),
      containers:
        this.containers.length > 0 ? this.containers.map((c) => c.toDocument()) : undefined,
    });
  }

  write(file = 'transformations.yml', opts: { signal?: AbortSignal } = {}): Promise<void> {
    return writeYamlDocument(file, this.toDocument(), opts);
  }
}

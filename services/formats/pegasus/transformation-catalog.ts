/**
 * Pegasus 5 transformation catalog (tc-5.0.yml): where executables and containers are.
 * Standalone file (`transformations.yml`) or inline in a workflow (`transformationCatalog:`).
 */
import { AloftError } from '../../../lib/errors/index.js';
import type {
  Container,
  ContainerType,
  Transformation,
  TransformationCatalog,
  TransformationSite,
  TransformationType,
} from '../../model/types.js';
import { readChecksum, readMetadata, readCatalogHeader, readProfiles } from './common.js';
import { DocReader, KeyPath } from './doc-reader.js';

const CATALOG_KEYS: ReadonlySet<string> = new Set(['pegasus', 'transformations', 'containers']);
const TRANSFORMATION_KEYS: ReadonlySet<string> = new Set([
  'metadata',
  'namespace',
  'name',
  'version',
  'hooks',
  'profiles',
  'requires',
  'checksum',
  'sites',
]);
const SITE_KEYS: ReadonlySet<string> = new Set([
  'name',
  'arch',
  'os.type',
  'os.release',
  'os.version',
  'pfn',
  'profiles',
  'metadata',
  'type',
  'bypass',
  'container',
]);
const CONTAINER_KEYS: ReadonlySet<string> = new Set([
  'name',
  'type',
  'image',
  'image.site',
  'mounts',
  'bypass',
  'checksum',
  'metadata',
  'profiles',
]);

const TRANSFORMATION_TYPES: readonly TransformationType[] = ['installed', 'stageable'];
const CONTAINER_TYPES: readonly ContainerType[] = ['docker', 'singularity', 'shifter'];

export function readTransformationCatalog(
  r: DocReader,
  v: unknown,
  at: KeyPath,
  standalone: boolean,
): TransformationCatalog {
  const out: TransformationCatalog = { transformations: [], containers: [] };
  const doc = readCatalogHeader(r, v, at, standalone, 'transformation catalog', 'transformations');
  if (!doc) return out;
  r.checkKeys(doc, CATALOG_KEYS, at, 'the transformation catalog');

  const listAt = at.key('transformations');
  const list = r.list(doc['transformations'], listAt, undefined);
  if (list) {
    for (let i = 0; i < list.length; i++) {
      const t = readTransformation(r, list[i], listAt.index(i));
      if (t) out.transformations.push(t);
    }
  }
  const containersAt = at.key('containers');
  const containers = r.list(doc['containers'], containersAt, undefined);
  if (containers) {
    for (let i = 0; i < containers.length; i++) {
      const c = readContainer(r, containers[i], containersAt.index(i));
      if (c) out.containers.push(c);
    }
  }
  return out;
}

function readTransformation(r: DocReader, v: unknown, at: KeyPath): Transformation | undefined {
  const obj = r.map(v, at, undefined, 'a transformation (a map with name and sites)');
  if (!obj) {
    if (v === null || v === undefined) r.problem(at, undefined, 'empty transformation entry');
    return undefined;
  }
  const rawName = obj['name'];
  const here = typeof rawName === 'string' ? at.labelled('transformation', rawName) : at;
  r.checkKeys(obj, TRANSFORMATION_KEYS, here, 'a transformation');
  const nameValue = r.required(obj, 'name', here, 'a transformation');
  const name =
    nameValue === undefined ? undefined : r.name(nameValue, here, 'name', 'transformation name');
  const namespace =
    obj['namespace'] == null ? undefined : r.name(obj['namespace'], here, 'namespace', 'name');
  const version =
    obj['version'] == null ? undefined : r.name(obj['version'], here, 'version', 'name');

  const requires: string[] = [];
  const reqAt = here.key('requires');
  const reqList = r.list(obj['requires'], reqAt, undefined);
  if (reqList) {
    for (let i = 0; i < reqList.length; i++) {
      const s = r.string(reqList[i], reqAt, i);
      if (s !== undefined) requires.push(s);
    }
  }

  const sites: TransformationSite[] = [];
  const sitesAt = here.key('sites');
  const siteList = r.list(r.required(obj, 'sites', here, 'a transformation'), sitesAt, undefined);
  if (siteList) {
    for (let i = 0; i < siteList.length; i++) {
      const s = readTransformationSite(r, siteList[i], sitesAt.index(i));
      if (s) sites.push(s);
    }
  }
  const profiles = readProfiles(r, obj['profiles'], here, 'profiles');
  const metadata = readMetadata(r, obj['metadata'], here, 'metadata');
  const checksum =
    obj['checksum'] == null ? undefined : readChecksum(r, obj['checksum'], here, 'checksum');
  if (name === undefined) return undefined;
  const t: Transformation = { name, requires, sites, profiles, metadata };
  if (namespace !== undefined) t.namespace = namespace;
  if (version !== undefined) t.version = version;
  if (checksum) t.checksum = checksum;
  return t;
}

function readTransformationSite(
  r: DocReader,
  v: unknown,
  at: KeyPath,
): TransformationSite | undefined {
  const obj = r.map(v, at, undefined, 'a transformation site (a map with name, pfn and type)');
  if (!obj) {
    if (v === null || v === undefined) r.problem(at, undefined, 'empty site entry');
    return undefined;
  }
  r.checkKeys(obj, SITE_KEYS, at, 'a transformation site');
  const nameValue = r.required(obj, 'name', at, 'a transformation site');
  const name = nameValue === undefined ? undefined : r.name(nameValue, at, 'name', 'site name');
  const pfn = r.string(r.required(obj, 'pfn', at, 'a transformation site'), at, 'pfn');
  // Pegasus' default type is installed when none is given.
  const type =
    obj['type'] == null ? 'installed' : r.oneOf(obj['type'], at, 'type', TRANSFORMATION_TYPES);
  const container =
    obj['container'] == null
      ? undefined
      : r.name(obj['container'], at, 'container', 'container name');
  const bypass = r.bool(obj['bypass'], at, 'bypass') ?? false;
  const profiles = readProfiles(r, obj['profiles'], at, 'profiles');
  const metadata = readMetadata(r, obj['metadata'], at, 'metadata');
  const arch = r.string(obj['arch'], at, 'arch');
  const osType = r.string(obj['os.type'], at, 'os.type');
  const osRelease = r.string(obj['os.release'], at, 'os.release');
  const osVersion = r.string(obj['os.version'], at, 'os.version');
  if (name === undefined || pfn === undefined || type === undefined) return undefined;
  const site: TransformationSite = { name, pfn, type, bypass, profiles, metadata };
  if (arch !== undefined) site.arch = arch;
  if (osType !== undefined) site.osType = osType;
  if (osRelease !== undefined) site.osRelease = osRelease;
  if (osVersion !== undefined) site.osVersion = osVersion;
  if (container !== undefined) site.container = container;
  return site;
}

function readContainer(r: DocReader, v: unknown, at: KeyPath): Container | undefined {
  const obj = r.map(v, at, undefined, 'a container (a map with name, type and image)');
  if (!obj) {
    if (v === null || v === undefined) r.problem(at, undefined, 'empty container entry');
    return undefined;
  }
  const rawName = obj['name'];
  const here = typeof rawName === 'string' ? at.labelled('container', rawName) : at;
  r.checkKeys(obj, CONTAINER_KEYS, here, 'a container');
  const nameValue = r.required(obj, 'name', here, 'a container');
  const name =
    nameValue === undefined ? undefined : r.name(nameValue, here, 'name', 'container name');
  const typeValue = r.required(obj, 'type', here, 'a container');
  const type =
    typeValue === undefined ? undefined : r.oneOf(typeValue, here, 'type', CONTAINER_TYPES);
  const image = r.string(r.required(obj, 'image', here, 'a container'), here, 'image');
  const imageSite =
    obj['image.site'] == null
      ? undefined
      : r.name(obj['image.site'], here, 'image.site', 'site name');
  const mounts: string[] = [];
  const mountsAt = here.key('mounts');
  const mountList = r.list(obj['mounts'], mountsAt, undefined);
  if (mountList) {
    for (let i = 0; i < mountList.length; i++) {
      const s = r.string(mountList[i], mountsAt, i);
      if (s !== undefined) mounts.push(s);
    }
  }
  const bypass = r.bool(obj['bypass'], here, 'bypass') ?? false;
  const checksum =
    obj['checksum'] == null ? undefined : readChecksum(r, obj['checksum'], here, 'checksum');
  const profiles = readProfiles(r, obj['profiles'], here, 'profiles');
  const metadata = readMetadata(r, obj['metadata'], here, 'metadata');
  if (name === undefined || type === undefined || image === undefined) return undefined;
  const c: Container = { name, type, image, mounts, bypass, profiles, metadata };
  if (imageSite !== undefined) c.imageSite = imageSite;
  if (checksum) c.checksum = checksum;
  return c;
}

/** Pure converter: a parsed transformation catalog document → the model (throws on problems). */
export function transformationCatalogFromDocument(
  doc: unknown,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
  warnings?: string[],
): TransformationCatalog {
  const r = new DocReader(source, env, [], warnings);
  const tc = readTransformationCatalog(r, doc, KeyPath.root(), true);
  if (r.problems.length > 0) throw AloftError.invalid(r.problems);
  return tc;
}

/**
 * PlannedJob (proto/plan.ts) <-> aloft.v1.PlannedJob. Exact round trips: optional fields
 * stay absent, empty arrays and records stay empty (optional arrays/records travel in
 * wrapper messages so absent and empty differ), numbers come back as the same numbers.
 */
import { aloft } from '../generated/aloft.js';
import {
  PLANNED_JOB_KINDS,
  type Checksum,
  type Executable,
  type PlannedFile,
  type PlannedJob,
  type PlannedJobKind,
  type Profiles,
  type Resources,
  type StoreAccess,
  type Transfer,
} from '../plan.js';
import { EnumMap, fromInt64, present, toUint, type Problems } from './wire-support.js';

import v1 = aloft.v1;

const JOB_KIND = new EnumMap<PlannedJobKind>('planned job kind', PLANNED_JOB_KINDS);
const EXEC_TYPE = new EnumMap<Executable['type']>('executable type', ['installed', 'stageable']);
type ContainerType = NonNullable<Executable['container']>['type'];
const CONTAINER_TYPE = new EnumMap<ContainerType>('container type', [
  'docker',
  'singularity',
  'shifter',
]);
const CHECKSUM_TYPE = new EnumMap<Checksum['type']>('checksum type', ['sha256']);

/** Cluster members are compute jobs; nesting deeper than this is refused. */
const MAX_MEMBER_DEPTH = 4;

// ---- encode (TS -> proto plain objects) ----

function checksumOut(p: Problems, path: string, c: Checksum): v1.IChecksum {
  return { type: CHECKSUM_TYPE.encode(p, `${path}.type`, c.type), value: c.value };
}

function fileOut(p: Problems, path: string, f: PlannedFile): v1.IPlannedFile {
  const o: v1.IPlannedFile = { lfn: f.lfn, url: f.url };
  if (f.size !== undefined) o.size = toUint(p, `${path}.size`, f.size, 64);
  if (f.checksum !== undefined) o.checksum = checksumOut(p, `${path}.checksum`, f.checksum);
  if (f.optional !== undefined) o.optionalOutput = f.optional;
  return o;
}

function executableOut(p: Problems, path: string, e: Executable): v1.IExecutable {
  const o: v1.IExecutable = {
    name: e.name,
    pfn: e.pfn,
    type: EXEC_TYPE.encode(p, `${path}.type`, e.type),
  };
  if (e.namespace !== undefined) o.namespace = e.namespace;
  if (e.version !== undefined) o.version = e.version;
  if (e.arch !== undefined) o.arch = e.arch;
  if (e.os !== undefined) o.os = e.os;
  if (e.container !== undefined) {
    const c = e.container;
    o.container = {
      name: c.name,
      type: CONTAINER_TYPE.encode(p, `${path}.container.type`, c.type),
      image: c.image,
      mounts: c.mounts,
    };
  }
  return o;
}

function transferOut(p: Problems, path: string, t: Transfer): v1.ITransfer {
  const o: v1.ITransfer = { lfn: t.lfn, sources: t.sources, dest: t.dest };
  if (t.size !== undefined) o.size = toUint(p, `${path}.size`, t.size, 64);
  if (t.checksum !== undefined) o.checksum = checksumOut(p, `${path}.checksum`, t.checksum);
  return o;
}

function storeAccessOut(a: StoreAccess): v1.IStoreAccess {
  const o: v1.IStoreAccess = { url: a.url, site: a.site };
  if (a.endpoint !== undefined) o.endpoint = a.endpoint;
  if (a.region !== undefined) o.region = a.region;
  if (a.pathStyle !== undefined) o.pathStyle = a.pathStyle;
  return o;
}

function profilesOut(pr: Profiles): v1.IProfiles {
  const namespaces: Record<string, v1.IStringMap> = {};
  for (const [ns, kv] of Object.entries(pr)) namespaces[ns] = { entries: kv };
  return { namespaces };
}

export function plannedJobOut(p: Problems, path: string, j: PlannedJob, depth = 0): v1.IPlannedJob {
  const r = j.resources;
  const o: v1.IPlannedJob = {
    id: j.id,
    kind: JOB_KIND.encode(p, `${path}.kind`, j.kind),
    site: j.site,
    parents: j.parents,
    covers: j.covers,
    priority: j.priority,
    retries: toUint(p, `${path}.retries`, j.retries, 32),
    resources: {
      cores: r.cores,
      memoryMb: r.memoryMb,
      diskMb: r.diskMb,
      runtimeSec: r.runtimeSec,
      gpus: r.gpus,
    },
  };
  if (j.category !== undefined) o.category = j.category;
  if (j.executable !== undefined)
    o.executable = executableOut(p, `${path}.executable`, j.executable);
  if (j.args !== undefined) o.args = { values: j.args };
  if (j.env !== undefined) o.env = { entries: j.env };
  if (j.inputs !== undefined)
    o.inputs = { files: j.inputs.map((f, i) => fileOut(p, `${path}.inputs[${i}]`, f)) };
  if (j.outputs !== undefined)
    o.outputs = { files: j.outputs.map((f, i) => fileOut(p, `${path}.outputs[${i}]`, f)) };
  if (j.stdin !== undefined) o.stdin = j.stdin;
  if (j.stdout !== undefined) o.stdout = j.stdout;
  if (j.stderr !== undefined) o.stderr = j.stderr;
  if (j.profiles !== undefined) o.profiles = profilesOut(j.profiles);
  if (j.members !== undefined) {
    if (depth >= MAX_MEMBER_DEPTH) {
      p.add(`${path}.members`, `cluster members nested deeper than ${MAX_MEMBER_DEPTH} levels`);
    } else {
      o.members = {
        jobs: j.members.map((m, i) => plannedJobOut(p, `${path}.members[${i}]`, m, depth + 1)),
      };
    }
  }
  if (j.transfers !== undefined)
    o.transfers = {
      transfers: j.transfers.map((t, i) => transferOut(p, `${path}.transfers[${i}]`, t)),
    };
  if (j.registrations !== undefined) o.registrations = { registrations: j.registrations };
  if (j.deletes !== undefined) o.deletes = { deletes: j.deletes };
  if (j.storeAccess !== undefined) o.storeAccess = { stores: j.storeAccess.map(storeAccessOut) };
  return o;
}

// ---- decode (generated classes -> TS) ----

function checksumIn(p: Problems, path: string, c: v1.IChecksum): Checksum {
  return { type: CHECKSUM_TYPE.decode(p, `${path}.type`, c.type), value: c.value ?? '' };
}

function fileIn(p: Problems, path: string, f: v1.IPlannedFile): PlannedFile {
  const o: PlannedFile = { lfn: f.lfn ?? '', url: f.url ?? '' };
  if (present(f.size)) o.size = fromInt64(p, `${path}.size`, f.size);
  if (present(f.checksum)) o.checksum = checksumIn(p, `${path}.checksum`, f.checksum);
  if (present(f.optionalOutput)) o.optional = f.optionalOutput;
  // Key order of the TS literal is irrelevant to consumers; fields match the TS type.
  return o;
}

function executableIn(p: Problems, path: string, e: v1.IExecutable): Executable {
  const o: Executable = {
    name: e.name ?? '',
    pfn: e.pfn ?? '',
    type: EXEC_TYPE.decode(p, `${path}.type`, e.type),
  };
  if (present(e.namespace)) o.namespace = e.namespace;
  if (present(e.version)) o.version = e.version;
  if (present(e.arch)) o.arch = e.arch;
  if (present(e.os)) o.os = e.os;
  if (present(e.container)) {
    const c = e.container;
    o.container = {
      name: c.name ?? '',
      type: CONTAINER_TYPE.decode(p, `${path}.container.type`, c.type),
      image: c.image ?? '',
      mounts: c.mounts ?? [],
    };
  }
  return o;
}

function endpointIn(e: v1.IEndpoint | null | undefined): { url: string; site: string } {
  return { url: e?.url ?? '', site: e?.site ?? '' };
}

function transferIn(p: Problems, path: string, t: v1.ITransfer): Transfer {
  if (!present(t.dest)) p.add(`${path}.dest`, 'missing');
  const o: Transfer = {
    lfn: t.lfn ?? '',
    sources: (t.sources ?? []).map(endpointIn),
    dest: endpointIn(t.dest),
  };
  if (present(t.size)) o.size = fromInt64(p, `${path}.size`, t.size);
  if (present(t.checksum)) o.checksum = checksumIn(p, `${path}.checksum`, t.checksum);
  return o;
}

function storeAccessIn(a: v1.IStoreAccess): StoreAccess {
  const o: StoreAccess = { url: a.url ?? '', site: a.site ?? '' };
  if (present(a.endpoint)) o.endpoint = a.endpoint;
  if (present(a.region)) o.region = a.region;
  if (present(a.pathStyle)) o.pathStyle = a.pathStyle;
  return o;
}

function resourcesIn(p: Problems, path: string, r: v1.IResources | null | undefined): Resources {
  if (!present(r)) p.add(path, 'missing');
  return {
    cores: r?.cores ?? 0,
    memoryMb: r?.memoryMb ?? 0,
    diskMb: r?.diskMb ?? 0,
    runtimeSec: r?.runtimeSec ?? 0,
    gpus: r?.gpus ?? 0,
  };
}

function profilesIn(pr: v1.IProfiles): Profiles {
  const o: Profiles = {};
  for (const [ns, m] of Object.entries(pr.namespaces ?? {})) o[ns] = { ...(m.entries ?? {}) };
  return o;
}

export function plannedJobIn(
  p: Problems,
  path: string,
  j: v1.IPlannedJob | null | undefined,
  depth = 0,
): PlannedJob {
  if (!present(j)) {
    p.add(path, 'missing');
    j = {};
  }
  const o: PlannedJob = {
    id: j.id ?? '',
    kind: JOB_KIND.decode(p, `${path}.kind`, j.kind),
    site: j.site ?? '',
    parents: j.parents ?? [],
    covers: j.covers ?? [],
    priority: j.priority ?? 0,
    retries: j.retries ?? 0,
    resources: resourcesIn(p, `${path}.resources`, j.resources),
  };
  if (present(j.category)) o.category = j.category;
  if (present(j.executable)) o.executable = executableIn(p, `${path}.executable`, j.executable);
  if (present(j.args)) o.args = j.args.values ?? [];
  if (present(j.env)) o.env = { ...(j.env.entries ?? {}) };
  if (present(j.inputs))
    o.inputs = (j.inputs.files ?? []).map((f, i) => fileIn(p, `${path}.inputs[${i}]`, f));
  if (present(j.outputs))
    o.outputs = (j.outputs.files ?? []).map((f, i) => fileIn(p, `${path}.outputs[${i}]`, f));
  if (present(j.stdin)) o.stdin = j.stdin;
  if (present(j.stdout)) o.stdout = j.stdout;
  if (present(j.stderr)) o.stderr = j.stderr;
  if (present(j.profiles)) o.profiles = profilesIn(j.profiles);
  if (present(j.members)) {
    if (depth >= MAX_MEMBER_DEPTH) {
      p.add(`${path}.members`, `cluster members nested deeper than ${MAX_MEMBER_DEPTH} levels`);
    } else {
      o.members = (j.members.jobs ?? []).map((m, i) =>
        plannedJobIn(p, `${path}.members[${i}]`, m, depth + 1),
      );
    }
  }
  if (present(j.transfers))
    o.transfers = (j.transfers.transfers ?? []).map((t, i) =>
      transferIn(p, `${path}.transfers[${i}]`, t),
    );
  if (present(j.registrations))
    o.registrations = (j.registrations.registrations ?? []).map((r) => ({
      lfn: r.lfn ?? '',
      pfn: r.pfn ?? '',
      site: r.site ?? '',
    }));
  if (present(j.deletes))
    o.deletes = (j.deletes.deletes ?? []).map((d) => ({ lfn: d.lfn ?? '', url: d.url ?? '' }));
  if (present(j.storeAccess)) o.storeAccess = (j.storeAccess.stores ?? []).map(storeAccessIn);
  return o;
}

/**
 * Read a Pegasus 5 workflow file and the catalogs that go with it into a LoadedWorkflow.
 *
 * Catalog files: the paths given in `opts`; for each one not given, `replicas.yml`,
 * `transformations.yml` and `sites.yml` beside the workflow, else in a `catalogs/` folder
 * beside it (the layout Pegasus' Python API tutorials use); none found → only the inline
 * catalog (or an empty one). A path given in `opts` that does not exist is a problem naming
 * that file. Inline catalogs in the workflow win over files on conflicting entries (see
 * merge-catalogs.ts). Problems of every file read are collected and thrown together as one
 * AloftError INVALID_ARGUMENT.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { AloftError, type Problem } from '../../../lib/errors/index.js';
import type {
  LoadedWorkflow,
  ReplicaCatalog,
  SiteCatalog,
  TransformationCatalog,
} from '../../model/types.js';
import { loadYamlFile } from '../yaml/index.js';
import { DocReader, KeyPath } from './doc-reader.js';
import {
  mergeReplicaCatalogs,
  mergeSiteCatalogs,
  mergeTransformationCatalogs,
} from './merge-catalogs.js';
import { readReplicaCatalog } from './replica-catalog.js';
import { readSiteCatalog } from './site-catalog.js';
import { readTransformationCatalog } from './transformation-catalog.js';
import { readWorkflowDocument } from './workflow-document.js';
import { anchorReplicaCatalog, anchorTransformationCatalog } from './anchor-pfns.js';

export interface ReadWorkflowOptions {
  /** Replica catalog file (default: discovered beside the workflow). */
  replicas?: string;
  /** Transformation catalog file (default: discovered beside the workflow). */
  transformations?: string;
  /** Site catalog file (default: discovered beside the workflow). */
  sites?: string;
  /** Variables for `${VAR}` expansion (default: process.env). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

type CatalogKind = 'replicas' | 'transformations' | 'sites';

const CATALOG_FILES: Record<CatalogKind, string> = {
  replicas: 'replicas.yml',
  transformations: 'transformations.yml',
  sites: 'sites.yml',
};

const CATALOG_WHAT: Record<CatalogKind, string> = {
  replicas: 'replica catalog',
  transformations: 'transformation catalog',
  sites: 'site catalog',
};

/** 'file', 'missing', or 'other' (a directory, a socket, ...). */
async function kindOf(p: string, signal?: AbortSignal): Promise<'file' | 'missing' | 'other'> {
  signal?.throwIfAborted();
  try {
    return (await stat(p)).isFile() ? 'file' : 'other';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw e;
  }
}

/** The catalog file that applies: the given one, or the first conventional one that exists. */
async function locate(
  kind: CatalogKind,
  given: string | undefined,
  workflowDir: string,
  problems: Problem[],
  signal?: AbortSignal,
): Promise<string | undefined> {
  if (given !== undefined) {
    const k = await kindOf(given, signal);
    if (k === 'file') return given;
    problems.push({
      where: given,
      message: `${CATALOG_WHAT[kind]} file ${k === 'missing' ? 'not found' : 'is not a regular file'}`,
      hint: `check the path given for the ${CATALOG_WHAT[kind]}, or leave it out to use ${CATALOG_FILES[kind]} beside the workflow`,
    });
    return undefined;
  }
  for (const candidate of [
    path.join(workflowDir, CATALOG_FILES[kind]),
    path.join(workflowDir, 'catalogs', CATALOG_FILES[kind]),
  ]) {
    if ((await kindOf(candidate, signal)) === 'file') return candidate;
  }
  return undefined;
}

/** Parse one YAML file, turning a syntax error into problems instead of a throw. */
async function load(
  file: string,
  problems: Problem[],
  signal?: AbortSignal,
): Promise<{ ok: true; doc: unknown } | { ok: false }> {
  try {
    return { ok: true, doc: await loadYamlFile(file, { signal }) };
  } catch (e) {
    if (e instanceof AloftError && e.code === 'INVALID_ARGUMENT') {
      problems.push(
        ...(e.problems.length > 0 ? e.problems : [{ where: file, message: e.message }]),
      );
      return { ok: false };
    }
    throw e;
  }
}

export async function readWorkflow(
  file: string,
  opts: ReadWorkflowOptions = {},
): Promise<LoadedWorkflow> {
  const { signal } = opts;
  const env = opts.env ?? process.env;
  const problems: Problem[] = [];
  const warnings: string[] = [];

  const fileKind = await kindOf(file, signal);
  if (fileKind !== 'file') {
    problems.push({
      where: file,
      message: fileKind === 'missing' ? 'workflow file not found' : 'is not a regular file',
      hint: 'give the path of a Pegasus 5 workflow (workflow.yml)',
    });
  }
  const dir = path.dirname(file);
  const [rcFile, tcFile, scFile] = await Promise.all([
    locate('replicas', opts.replicas, dir, problems, signal),
    locate('transformations', opts.transformations, dir, problems, signal),
    locate('sites', opts.sites, dir, problems, signal),
  ]);
  if (problems.length > 0) throw AloftError.invalid(problems);

  const [wfDoc, rcDoc, tcDoc, scDoc] = await Promise.all([
    load(file, problems, signal),
    rcFile === undefined ? undefined : load(rcFile, problems, signal),
    tcFile === undefined ? undefined : load(tcFile, problems, signal),
    scFile === undefined ? undefined : load(scFile, problems, signal),
  ]);

  const wfReader = new DocReader(file, env, problems, warnings, true);
  const workflow = wfDoc.ok ? readWorkflowDocument(wfReader, wfDoc.doc) : undefined;
  let rc: ReplicaCatalog | undefined;
  let tc: TransformationCatalog | undefined;
  let sc: SiteCatalog | undefined;
  if (rcFile !== undefined && rcDoc?.ok)
    rc = readReplicaCatalog(
      new DocReader(rcFile, env, problems, warnings),
      rcDoc.doc,
      KeyPath.root(),
      true,
    );
  if (tcFile !== undefined && tcDoc?.ok)
    tc = readTransformationCatalog(
      new DocReader(tcFile, env, problems, warnings),
      tcDoc.doc,
      KeyPath.root(),
      true,
    );
  if (scFile !== undefined && scDoc?.ok)
    sc = readSiteCatalog(
      new DocReader(scFile, env, problems, warnings),
      scDoc.doc,
      KeyPath.root(),
      true,
    );
  if (problems.length > 0 || workflow === undefined) throw AloftError.invalid(problems);

  // Relative pfns resolve against the directory of the file that names them.
  if (workflow.replicaCatalog)
    workflow.replicaCatalog = anchorReplicaCatalog(workflow.replicaCatalog, dir);
  if (workflow.transformationCatalog)
    workflow.transformationCatalog = anchorTransformationCatalog(
      workflow.transformationCatalog,
      dir,
    );
  if (rc && rcFile !== undefined) rc = anchorReplicaCatalog(rc, path.dirname(rcFile));
  if (tc && tcFile !== undefined) tc = anchorTransformationCatalog(tc, path.dirname(tcFile));

  const loaded: LoadedWorkflow = {
    workflow,
    replicas: mergeReplicaCatalogs(workflow.replicaCatalog, rc),
    transformations: mergeTransformationCatalogs(workflow.transformationCatalog, tc),
    sites: mergeSiteCatalogs(workflow.siteCatalog, sc),
    warnings,
    sources: { workflow: file },
  };
  if (rcFile !== undefined) loaded.sources.replicas = rcFile;
  if (tcFile !== undefined) loaded.sources.transformations = tcFile;
  if (scFile !== undefined) loaded.sources.sites = scFile;
  return loaded;
}

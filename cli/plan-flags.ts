/**
 * The catalog and planning flags shared by `aloft plan`, `aloft validate` (catalog flags
 * only) and `aloft run`, so every command that plans accepts exactly the same flags with
 * the same meaning (Pegasus' pegasus-plan names where it has one).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Problem } from '../lib/errors/index.js';
import { storeForRoutes } from '../lib/store/index.js';
import { validateSiteName, type LoadedWorkflow } from '../services/model/index.js';
import {
  DEFAULT_STORE_ROOT,
  defaultPlanOptions,
  findExistingOutputs,
  outputStoreLocation,
  type ClusterStyle,
  type ExistingFile,
  type PlanOptions,
  siteS3Routes,
} from '../services/planner/index.js';
import { listRuns, runPaths } from '../services/run/index.js';
import { bool, oneOf, str, type FlagSpec, type Parsed } from './args.js';

export const CATALOG_FLAGS = {
  replicas: { type: 'string' },
  transformations: { type: 'string' },
  'site-catalog': { type: 'string' },
} satisfies FlagSpec;

export const PLANNING_FLAGS = {
  sites: { type: 'string' },
  'output-site': { type: 'string' },
  cleanup: { type: 'string' },
  cluster: { type: 'string', multiple: true },
  reuse: { type: 'boolean' },
  force: { type: 'boolean' },
} satisfies FlagSpec;

/** Catalog and planning flags together (what `aloft plan` and `aloft run` take). */
export const PLAN_FLAGS = { ...CATALOG_FLAGS, ...PLANNING_FLAGS } satisfies FlagSpec;

export const CATALOG_FLAGS_USAGE = `Catalogs (default: replicas.yml, transformations.yml, sites.yml beside the workflow or
in catalogs/ next to it, plus any catalogs inline in the workflow):
  --replicas FILE         replica catalog (where input files are)
  --transformations FILE  transformation catalog (where executables and containers are)
  --site-catalog FILE     site catalog (sites and their storage)
`;

export const PLANNING_FLAGS_USAGE = `Planning:
  --sites A,B             compute sites to use (default: every site the catalog lists for a job)
  --output-site S         site whose storage receives staged-out outputs (default local)
  --cleanup MODE          inplace (default: delete each file after its last reader), leaf,
                          constraint (inplace, and keep each store under its maxspace: the
                          pegasus profile file.cleanup.constraint.maxspace of its site, or
                          of the workflow), none
  --cluster STYLE         horizontal and/or label (repeat the flag or give a comma list)
  --reuse                 skip jobs whose outputs already exist with the sha256 an earlier
                          run recorded (output replica catalogs in ./runs, output store,
                          replica catalog); --explain says why each job runs or is skipped
  --force                 plan every job even with --reuse
`;

export const PLAN_FLAGS_USAGE = CATALOG_FLAGS_USAGE + '\n' + PLANNING_FLAGS_USAGE;

const CLEANUP_MODES = ['inplace', 'leaf', 'constraint', 'none'] as const;
const CLUSTER_STYLES: readonly ClusterStyle[] = ['horizontal', 'label'];

export interface CatalogPaths {
  replicas?: string;
  transformations?: string;
  sites?: string;
}

/** The catalog files named on the command line (as given; the loader resolves them). */
export function catalogPaths(parsed: Parsed): CatalogPaths {
  const out: CatalogPaths = {};
  const replicas = str(parsed, 'replicas');
  const transformations = str(parsed, 'transformations');
  const sites = str(parsed, 'site-catalog');
  if (replicas !== undefined) out.replicas = replicas;
  if (transformations !== undefined) out.transformations = transformations;
  if (sites !== undefined) out.sites = sites;
  return out;
}

/** Split a comma list, dropping empty items ("a,,b" = "a,b"). */
function commaList(values: string | string[] | undefined): string[] {
  const all = Array.isArray(values) ? values : values === undefined ? [] : [values];
  return all
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Planning options from the flags, every bad value collected into `problems`. Where site
 * stores live (`storeRoot`), the output URL and the list of existing outputs depend on where
 * the command keeps its data: `storeRoot` is the caller's (`aloft run` sets its run
 * directory), the other two are left unset.
 */
export function planOptionsFromFlags(
  command: string,
  parsed: Parsed,
  problems: Problem[],
  storeRoot: string = DEFAULT_STORE_ROOT,
): PlanOptions {
  const base = defaultPlanOptions();
  const sites = commaList(str(parsed, 'sites'));
  for (const s of sites) {
    const bad = validateSiteName(s);
    if (bad) {
      problems.push({
        where: `aloft ${command} --sites`,
        message: `site name ${bad}`,
        hint: 'give site names from the site or transformation catalog, e.g. --sites condorpool,local',
      });
    }
  }
  if (parsed.values['sites'] !== undefined && sites.length === 0) {
    problems.push({
      where: `aloft ${command} --sites`,
      message: 'no site given',
      hint: 'pass a comma list of sites, e.g. --sites condorpool',
    });
  }
  const outputSite = str(parsed, 'output-site');
  if (outputSite !== undefined) {
    const bad = validateSiteName(outputSite);
    if (bad) {
      problems.push({
        where: `aloft ${command} --output-site`,
        message: `site name ${bad}`,
        hint: 'give the name of a site, e.g. --output-site local',
      });
    }
  }
  const cleanup = oneOf(command, parsed, 'cleanup', CLEANUP_MODES, problems);
  const cluster: ClusterStyle[] = [];
  for (const style of commaList(parsed.values['cluster'] as string[] | undefined)) {
    if ((CLUSTER_STYLES as readonly string[]).includes(style)) {
      if (!cluster.includes(style as ClusterStyle)) cluster.push(style as ClusterStyle);
    } else {
      problems.push({
        where: `aloft ${command} --cluster`,
        message: `'${style}' is not one of ${CLUSTER_STYLES.join(', ')}`,
        hint: `pass --cluster ${CLUSTER_STYLES.join('|')} (repeat the flag or give a comma list)`,
      });
    }
  }
  return {
    ...base,
    storeRoot,
    sites,
    outputSite: outputSite ?? base.outputSite,
    cleanup: cleanup ?? base.cleanup,
    cluster,
    reuse: bool(parsed, 'reuse'),
    force: bool(parsed, 'force'),
  };
}

/**
 * Where `aloft plan` (which runs nothing) says site stores are, for sites the site catalog
 * does not describe: `aloft-stores/` under the current directory.
 */
export function defaultStoreRoot(cwd: string): string {
  return pathToFileURL(path.join(path.resolve(cwd), 'aloft-stores')).href + '/';
}

/**
 * What `--reuse` knows about the workflow's outputs before planning (PlanOptions.existing):
 * the output replica catalogs of its earlier runs under `runsRoot` (oldest first; named by
 * their path relative to `cwd` in reasons) and the output store of `options`, with the
 * sha256 of each copy where a checksum is known to compare it with.
 */
export function existingOutputs(
  loaded: LoadedWorkflow,
  options: PlanOptions,
  o: { cwd: string; runsRoot: string; signal: AbortSignal },
): Promise<ExistingFile[]> {
  const catalogs = listRuns(o.runsRoot, loaded.workflow.name).map((r) => ({
    file: runPaths(r.dir).outputReplicas,
    run: path.relative(o.cwd, r.dir) || r.dir,
  }));
  const outputStore = outputStoreLocation(loaded.sites, options).get;
  return findExistingOutputs(loaded, {
    catalogs,
    outputStore,
    outputSite: options.outputSite,
    // Outputs on a site's S3 store are looked at with that site's endpoint settings.
    storeFor: storeForRoutes(
      siteS3Routes(loaded, { site: options.outputSite, store: outputStore }),
    ),
    signal: o.signal,
  });
}

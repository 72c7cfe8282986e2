/**
 * Generates Montage-shaped Pegasus 5 workflows of a requested size, as YAML (block style with
 * flow leaves, the way Pegasus' Python API writes them) and as JSON, streamed to disk so that 1M-job
 * files do not need the whole text in memory.
 *
 * Shape per mosaic of n tiles (about 4.9 n jobs): mProject ×n -> mDiffFit ×~2.3n (pairs of
 * overlapping neighbours) -> mConcatFit ×1 -> mBgModel ×1 -> mBackground ×n -> mImgtbl ×1
 * -> mAdd ×1 -> mViewer ×1. Large workflows are several independent mosaics (bands), as
 * Montage runs at scale are, so no single job has a million inputs.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

interface Use {
  lfn: string;
  type: 'input' | 'output';
  stageOut?: boolean;
}
interface GenJob {
  id: string;
  name: string;
  args: string[];
  uses: Use[];
}

const TILES_PER_MOSAIC = 2000;

function* mosaic(band: number, n: number, ids: { next: number }): Generator<GenJob> {
  const id = (): string => `ID${String(ids.next++).padStart(8, '0')}`;
  const b = `b${band}`;
  const width = Math.max(1, Math.round(Math.sqrt(n)));
  for (let i = 0; i < n; i++) {
    yield {
      id: id(),
      name: 'mProject',
      args: ['-X', `${b}_raw_${i}.fits`, `${b}_p_${i}.fits`, `${b}_region.hdr`],
      uses: [
        { lfn: `${b}_raw_${i}.fits`, type: 'input' },
        { lfn: `${b}_region.hdr`, type: 'input' },
        { lfn: `${b}_p_${i}.fits`, type: 'output', stageOut: false },
        { lfn: `${b}_p_${i}_area.fits`, type: 'output', stageOut: false },
      ],
    };
  }
  const fits: string[] = [];
  for (let i = 0; i < n; i++) {
    const neighbours = [i + 1, i + width, i + width + 1].filter(
      (j) => j < n && (j !== i + 1 || (i + 1) % width !== 0),
    );
    for (const j of neighbours) {
      const fit = `${b}_fit_${i}_${j}.txt`;
      fits.push(fit);
      yield {
        id: id(),
        name: 'mDiffFit',
        args: ['-d', '-s', fit, `${b}_p_${i}.fits`, `${b}_p_${j}.fits`, `${b}_region.hdr`],
        uses: [
          { lfn: `${b}_p_${i}.fits`, type: 'input' },
          { lfn: `${b}_p_${i}_area.fits`, type: 'input' },
          { lfn: `${b}_p_${j}.fits`, type: 'input' },
          { lfn: `${b}_p_${j}_area.fits`, type: 'input' },
          { lfn: `${b}_region.hdr`, type: 'input' },
          { lfn: fit, type: 'output', stageOut: false },
        ],
      };
    }
  }
  yield {
    id: id(),
    name: 'mConcatFit',
    args: [`${b}_stats.tbl`, `${b}_fits.tbl`, '.'],
    uses: [
      ...fits.map((lfn): Use => ({ lfn, type: 'input' })),
      { lfn: `${b}_fits.tbl`, type: 'output', stageOut: false },
    ],
  };
  yield {
    id: id(),
    name: 'mBgModel',
    args: [`${b}_images.tbl`, `${b}_fits.tbl`, `${b}_corrections.tbl`],
    uses: [
      { lfn: `${b}_fits.tbl`, type: 'input' },
      { lfn: `${b}_images.tbl`, type: 'input' },
      { lfn: `${b}_corrections.tbl`, type: 'output', stageOut: false },
    ],
  };
  const corrected: string[] = [];
  for (let i = 0; i < n; i++) {
    corrected.push(`${b}_c_${i}.fits`);
    yield {
      id: id(),
      name: 'mBackground',
      args: ['-t', `${b}_p_${i}.fits`, `${b}_c_${i}.fits`, `${b}_corrections.tbl`],
      uses: [
        { lfn: `${b}_p_${i}.fits`, type: 'input' },
        { lfn: `${b}_p_${i}_area.fits`, type: 'input' },
        { lfn: `${b}_corrections.tbl`, type: 'input' },
        { lfn: `${b}_c_${i}.fits`, type: 'output', stageOut: false },
      ],
    };
  }
  yield {
    id: id(),
    name: 'mImgtbl',
    args: ['.', '-t', `${b}_cimages.tbl`],
    uses: [
      ...corrected.map((lfn): Use => ({ lfn, type: 'input' })),
      { lfn: `${b}_cimages.tbl`, type: 'output', stageOut: false },
    ],
  };
  yield {
    id: id(),
    name: 'mAdd',
    args: ['-e', `${b}_cimages.tbl`, `${b}_region.hdr`, `${b}_mosaic.fits`],
    uses: [
      ...corrected.map((lfn): Use => ({ lfn, type: 'input' })),
      { lfn: `${b}_cimages.tbl`, type: 'input' },
      { lfn: `${b}_region.hdr`, type: 'input' },
      { lfn: `${b}_mosaic.fits`, type: 'output', stageOut: true },
    ],
  };
  yield {
    id: id(),
    name: 'mViewer',
    args: ['-ct', '1', '-gray', `${b}_mosaic.fits`, '-out', `${b}_mosaic.png`],
    uses: [
      { lfn: `${b}_mosaic.fits`, type: 'input' },
      { lfn: `${b}_mosaic.png`, type: 'output', stageOut: true },
    ],
  };
}

/** Whole mosaics until the job count reaches `jobs` (overshoot: less than one mosaic's tail). */
export function* montageJobs(jobs: number): Generator<GenJob> {
  const ids = { next: 1 };
  let band = 0;
  while (ids.next <= jobs) {
    // About 4.93 jobs per tile; the last mosaic is sized to land close to `jobs`.
    const tiles = Math.max(1, Math.min(TILES_PER_MOSAIC, Math.round((jobs - ids.next + 1) / 4.93)));
    yield* mosaic(band++, tiles, ids);
  }
}

/** Every lfn read but not produced, so the generated replica catalog covers them. */
function rootInputsOf(jobsList: GenJob[]): string[] {
  const produced = new Set<string>();
  for (const j of jobsList) for (const u of j.uses) if (u.type === 'output') produced.add(u.lfn);
  const roots = new Set<string>();
  for (const j of jobsList)
    for (const u of j.uses) if (u.type === 'input' && !produced.has(u.lfn)) roots.add(u.lfn);
  return [...roots];
}

class Out {
  private buf: string[] = [];
  private size = 0;
  constructor(private readonly ws: WriteStream) {}
  async w(s: string): Promise<void> {
    this.buf.push(s);
    this.size += s.length;
    if (this.size > 1 << 20) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.buf.length === 0) return;
    const ok = this.ws.write(this.buf.join(''));
    this.buf = [];
    this.size = 0;
    if (!ok) await once(this.ws, 'drain');
  }
  async end(): Promise<void> {
    await this.flush();
    this.ws.end();
    await once(this.ws, 'finish');
  }
}

const TRANSFORMATIONS = [
  'mProject',
  'mDiffFit',
  'mConcatFit',
  'mBgModel',
  'mBackground',
  'mImgtbl',
  'mAdd',
  'mViewer',
];

/** Writes workflow.yml/.json plus the catalogs beside it; returns the job count. */
export async function writeMontage(
  file: string,
  jobs: number,
  format: 'yaml' | 'json',
): Promise<{ jobs: number; inputs: string[] }> {
  const list = [...montageJobs(jobs)];
  // Dependencies the way the Python API writes them: explicit, parent -> children.
  const producer = new Map<string, string>();
  for (const j of list) for (const u of j.uses) if (u.type === 'output') producer.set(u.lfn, j.id);
  const children = new Map<string, Set<string>>();
  for (const j of list) {
    for (const u of j.uses) {
      const p = u.type === 'input' ? producer.get(u.lfn) : undefined;
      if (p === undefined) continue;
      let s = children.get(p);
      if (!s) children.set(p, (s = new Set()));
      s.add(j.id);
    }
  }
  const out = new Out(createWriteStream(file));
  if (format === 'yaml') {
    // Block style with flow leaves, exactly as Pegasus 5.0.4's Python API writes them
    // (compare ../shared/workflows/pegasus/pegasus-test052-blackdiamond/workflow.yml).
    await out.w(
      `x-pegasus: {apiLang: python, createdBy: aloft-bench}\npegasus: 5.0.4\nname: montage\njobs:\n`,
    );
    for (const j of list) {
      let s = `- type: job\n  name: ${j.name}\n  id: ${j.id}\n  arguments: [${j.args.join(', ')}]\n  uses:\n`;
      for (const u of j.uses) {
        s +=
          u.type === 'output'
            ? `  - {lfn: ${u.lfn}, type: output, stageOut: ${u.stageOut ? 'true' : 'false'}}\n`
            : `  - {lfn: ${u.lfn}, type: input}\n`;
      }
      await out.w(s);
    }
    await out.w('jobDependencies:\n');
    for (const [id, kids] of children) {
      await out.w(`- id: ${id}\n  children: [${[...kids].join(', ')}]\n`);
    }
  } else {
    await out.w('{"pegasus":"5.0.4","name":"montage","jobs":[');
    let first = true;
    for (const j of list) {
      const uses = j.uses.map((u) =>
        u.type === 'output'
          ? { lfn: u.lfn, type: u.type, stageOut: !!u.stageOut }
          : { lfn: u.lfn, type: u.type },
      );
      await out.w(
        (first ? '' : ',') +
          JSON.stringify({ type: 'job', name: j.name, id: j.id, arguments: j.args, uses }),
      );
      first = false;
    }
    await out.w('],"jobDependencies":[');
    first = true;
    for (const [id, kids] of children) {
      await out.w((first ? '' : ',') + JSON.stringify({ id, children: [...kids] }));
      first = false;
    }
    await out.w(']}');
  }
  await out.end();
  return { jobs: list.length, inputs: rootInputsOf(list) };
}

/** Catalogs for the generated workflow: transformations on site `compute`, inputs on `local`. */
export function montageCatalogs(inputs: string[]): { tc: string; rc: string } {
  const tc =
    'pegasus: 5.0.4\ntransformations:\n' +
    TRANSFORMATIONS.map(
      (t) =>
        `- name: ${t}\n  sites:\n  - name: compute\n    pfn: /opt/montage/bin/${t}\n    type: installed\n`,
    ).join('');
  const rc =
    'pegasus: 5.0.4\nreplicas:\n' +
    inputs
      .map((l) => `- lfn: ${l}\n  pfns:\n  - site: local\n    pfn: /data/montage/${l}\n`)
      .join('');
  return { tc, rc };
}

/**
 * A radar nowcasting pipeline in the style of CASA (Pegasus' showcase): data born at the
 * edge as many small compressed scans, processed per scan, merged, thresholded into alerts.
 *
 *   decompress_NNN: gzip -dc scan_NNN.csv.gz > scan_NNN.csv        (per scan)
 *   rainrate_NNN:   awk Z-R (Marshall-Palmer, Z = 200 R^1.6)         (per scan, mm/h per cell)
 *   accumulate:     awk sums rain depth over all scans (5 min each)  (merge)
 *   sortgrid:       sort the accumulation grid by cell               (merge)
 *   alerts:         awk cells with accumulation >= ALERT_MM          (threshold)
 *
 * `node dist/examples/radar/workflow.js` regenerates workflow.yml beside this file; a test
 * checks that the committed YAML is exactly what this program writes.
 */
import path from 'node:path';
import {
  File,
  Job,
  ReplicaCatalog,
  Transformation,
  TransformationCatalog,
  Workflow,
} from '../../services/api/index.js';
import { exampleDir, isMain } from '../example-dir.js';
import { SCANS, scanName } from './make-data.js';

/** Minutes between scans: each scan's rain rate lasts this long. */
export const SCAN_MINUTES = 5;
/** Accumulated rain (mm) over the hour at which a cell raises an alert. */
export const ALERT_MM = 5;

const RAINRATE =
  'NR > 1 { z = 10 ^ ($3 / 10); r = (z / 200) ^ (1 / 1.6); printf "%d,%d,%.3f\\n", $1, $2, r }';
const ACCUMULATE = `{ s[$1 "," $2] += $3 * ${SCAN_MINUTES} / 60 } END { for (k in s) printf "%s,%.3f\\n", k, s[k] }`;
const ALERTS = '$3 >= t { printf "ALERT cell=%s,%s rain=%smm\\n", $1, $2, $3 }';

export function radar(): Workflow {
  const tc = new TransformationCatalog().addTransformations(
    new Transformation('decompress', { site: 'local', pfn: '/bin/gzip' }),
    new Transformation('rainrate', { site: 'local', pfn: '/usr/bin/awk' }),
    new Transformation('accumulate', { site: 'local', pfn: '/usr/bin/awk' }),
    new Transformation('sortgrid', { site: 'local', pfn: '/usr/bin/sort' }),
    new Transformation('alerts', { site: 'local', pfn: '/usr/bin/awk' }),
  );
  const rc = new ReplicaCatalog();
  const wf = new Workflow('radar').addTransformationCatalog(tc).addReplicaCatalog(rc);

  const rainFiles: File[] = [];
  for (let s = 0; s < SCANS; s++) {
    const n = String(s + 1).padStart(3, '0');
    const gz = new File(scanName(s));
    const csv = new File(`scan_${n}.csv`);
    const rain = new File(`rain_${n}.csv`);
    rc.addReplica('local', gz, `data/${scanName(s)}`);
    rainFiles.push(rain);
    wf.addJobs(
      new Job('decompress', { id: `decompress_${n}` })
        .addArgs('-dc', gz)
        .addInputs(gz)
        .setStdout(csv, { stageOut: false, registerReplica: false }),
      new Job('rainrate', { id: `rainrate_${n}` })
        .addArgs('-F,', RAINRATE, csv)
        .addInputs(csv)
        .setStdout(rain, { stageOut: false, registerReplica: false }),
    );
  }
  const raw = new File('accumulation_unsorted.csv');
  const grid = new File('accumulation.csv');
  const alerts = new File('alerts.txt');
  wf.addJobs(
    new Job('accumulate', { id: 'accumulate' })
      .addArgs('-F,', ACCUMULATE, ...rainFiles)
      .addInputs(...rainFiles)
      .setStdout(raw, { stageOut: false, registerReplica: false }),
    new Job('sortgrid', { id: 'sortgrid' })
      .addArgs('-t,', '-k1,1n', '-k2,2n', raw)
      .addInputs(raw)
      .setStdout(grid, { stageOut: true, registerReplica: true }),
    new Job('alerts', { id: 'alerts' })
      .addArgs('-F,', '-v', `t=${ALERT_MM}`, ALERTS, grid)
      .addInputs(grid)
      .setStdout(alerts, { stageOut: true, registerReplica: true }),
  );
  return wf;
}

if (isMain(import.meta.url)) {
  const file = path.join(exampleDir(import.meta.url, 'radar'), 'workflow.yml');
  await radar().write(file);
  process.stdout.write(`wrote ${file}\n`);
}

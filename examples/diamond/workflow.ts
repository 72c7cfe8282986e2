/**
 * The diamond: Pegasus' classic four-job example, with standard Unix tools.
 *
 *   preprocess: tee f.b1 f.b2 < f.a           (fan out)
 *   findrange:  sort -n  -o f.c1 f.b1         (ascending)
 *   findrange:  sort -rn -o f.c2 f.b2         (descending)
 *   analyze:    paste f.c1 f.c2 > f.d         (fan in)
 *
 * `node dist/examples/diamond/workflow.js` regenerates workflow.yml beside this file; a
 * test checks that the committed YAML is exactly what this program writes.
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

export function diamond(): Workflow {
  const fa = new File('f.a');
  const fb1 = new File('f.b1');
  const fb2 = new File('f.b2');
  const fc1 = new File('f.c1');
  const fc2 = new File('f.c2');
  const fd = new File('f.d');

  const tc = new TransformationCatalog().addTransformations(
    new Transformation('preprocess', { site: 'local', pfn: '/usr/bin/tee' }),
    new Transformation('findrange', { site: 'local', pfn: '/usr/bin/sort' }),
    new Transformation('analyze', { site: 'local', pfn: '/usr/bin/paste' }),
  );
  // A relative pfn is resolved against the directory of the file that names it.
  const rc = new ReplicaCatalog().addReplica('local', fa, 'f.a');

  return new Workflow('diamond')
    .addTransformationCatalog(tc)
    .addReplicaCatalog(rc)
    .addJobs(
      new Job('preprocess', { id: 'preprocess' })
        .addArgs(fb1, fb2)
        .setStdin(fa)
        .addOutputs(fb1, fb2, { stageOut: false, registerReplica: false }),
      new Job('findrange', { id: 'findrange_up' })
        .addArgs('-n', '-o', fc1, fb1)
        .addInputs(fb1)
        .addOutputs(fc1, { stageOut: true, registerReplica: false }),
      new Job('findrange', { id: 'findrange_down' })
        .addArgs('-rn', '-o', fc2, fb2)
        .addInputs(fb2)
        .addOutputs(fc2, { stageOut: true, registerReplica: false }),
      new Job('analyze', { id: 'analyze' })
        .addArgs(fc1, fc2)
        .addInputs(fc1, fc2)
        .setStdout(fd, { stageOut: true, registerReplica: true }),
    );
}

if (isMain(import.meta.url)) {
  const file = path.join(exampleDir(import.meta.url, 'diamond'), 'workflow.yml');
  await diamond().write(file);
  process.stdout.write(`wrote ${file}\n`);
}

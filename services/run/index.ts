/** Run directories (layout, run info, plan digest, lock) and the output replica catalog. */
export * from './run-dir.js';
export {
  OutputReplicaCatalog,
  readOutputReplicas,
  OUTPUT_REPLICAS_FILE,
  type OutputReplica,
} from './output-replicas.js';
export { writeFileAtomic } from './atomic-write.js';

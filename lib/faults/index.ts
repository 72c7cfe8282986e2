/** Public surface of fault points: deterministic crash windows for fault tests. */
export {
  FAULT_POINTS,
  FAULTS_ENV,
  armFaults,
  faultPoint,
  parseFaults,
  type FaultPointName,
  type FaultSpec,
} from './fault-points.js';

/** The plan types live in proto/ (agents consume planned jobs); the planner re-exports them. */
export * from '../../proto/plan.js';

/** The contract between the submit side (services/) and the execution side (agents/). */
export * from './plan.js';
export * from './attempt.js';
export * from './agent-protocol.js';
export * from './subjects.js';

import type { Command } from '../command.js';
import { runCommand } from './run.js';
import { planCommand } from './plan.js';
import { validateCommand } from './validate.js';
import { replayCommand } from './replay.js';
import { statusCommand } from './status.js';
import { analyzeCommand } from './analyze.js';
import { statsCommand } from './stats.js';
import { agentCommand } from './agent.js';
import { schedulerCommand } from './scheduler.js';
import { submitCommand } from './submit.js';
import { haltCommand } from './halt.js';
import { resumeCommand } from './resume.js';
import { removeCommand } from './remove.js';
import { agentsCommand } from './agents.js';

export const commands: readonly Command[] = [
  runCommand,
  planCommand,
  validateCommand,
  replayCommand,
  statusCommand,
  analyzeCommand,
  statsCommand,
  agentCommand,
  schedulerCommand,
  submitCommand,
  haltCommand,
  resumeCommand,
  removeCommand,
  agentsCommand,
];

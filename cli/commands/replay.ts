import type { Command } from '../command.js';
import { AloftError } from '../../lib/errors/index.js';

// Owned by the helper building 'aloft replay'; replace this whole file.
export const replayCommand: Command = {
  name: 'replay',
  summary: '(replay: being built)',
  usage: 'aloft replay',
  async run() {
    throw new AloftError('UNAVAILABLE', 'aloft replay is not built yet');
  },
};

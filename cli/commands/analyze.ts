import type { Command } from '../command.js';
import { AloftError } from '../../lib/errors/index.js';

// Owned by the helper building 'aloft analyze'; replace this whole file.
export const analyzeCommand: Command = {
  name: 'analyze',
  summary: '(analyze: being built)',
  usage: 'aloft analyze',
  async run() {
    throw new AloftError('UNAVAILABLE', 'aloft analyze is not built yet');
  },
};

import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'runs/**', 'outputs/**', 'proto/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': 'error',
    },
  },
  {
    // The CLI entry point, benchmarks and tests talk to a terminal on purpose.
    files: ['cli/**', 'bench/**', 'test/**', '**/*.test.ts', 'examples/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // services/ (submit side) and agents/ (execution side) never import each other (DESIGN §2).
    files: ['services/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/agents/**'] }] },
  },
  {
    files: ['agents/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/services/**'] }] },
  },
);

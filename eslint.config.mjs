// `npm run lint`: ESLint's and typescript-eslint's recommended rules over all TypeScript in src/ test/ bench/
// scripts/ (not type-aware, so it stays fast). Formatting is Prettier's job (.prettierrc), not ESLint's.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'out/', 'proto/', 'node_modules/', 'test-artifacts/', '.vscode-test/', '.rig-cache/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Command callbacks receive VS Code's untyped arguments (`...args: any[]`, as registerCommand declares them).
      '@typescript-eslint/no-explicit-any': ['error', { ignoreRestArgs: true }],
      // A leading underscore marks a name that is deliberately unused (e.g. a property dropped by destructuring).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // `import x = require('…')` is TypeScript's typed import of a CommonJS module (mocha); bare require() is not.
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }],
      // Hex dumps and aligned tables are matched literally in tests; `  ` reads better there than ` {2}`.
      'no-regex-spaces': 'off',
      // Telling binary from text means matching control bytes on purpose (key codec, value and proto decoders).
      'no-control-regex': 'off',
    },
  },
);

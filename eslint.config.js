import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** ESLint for the library, its tests, the sample and the benchmarks; formatting is Prettier's (`npm run lint` runs both). */
export default tseslint.config(
  { ignores: ['node_modules/', 'dist*/', 'coverage/', 'test/consumer*/node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  importX.flatConfigs.typescript,
  {
    languageOptions: { globals: globals.node },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })] },
    rules: {
      // Dependencies point one way: no module imports one that imports it back.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      // The layers of src/ (docs/design.md, "The pieces"): nest → recording → store; the expositions read the store.
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './src/store',
              from: './src',
              except: ['./store', './options/option-error.ts'],
              message: 'The store depends on nothing above it.',
            },
            {
              target: ['./src/labels', './src/schemas', './src/openai', './src/opentelemetry', './src/options'],
              from: ['./src/recording', './src/gateway', './src/exposition', './src/nest'],
              message: 'Label rules, schemas, payload readers and options depend on no layer above them.',
            },
            {
              target: './src/gateway',
              from: ['./src/recording', './src/exposition', './src/nest'],
              message: 'The gateway records into the store, below the recording of requests.',
            },
            {
              target: ['./src/recording', './src/gateway', './src/exposition'],
              from: './src/nest',
              message: 'Only the Nest glue depends on Nest.',
            },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // The CommonJS consumer of the package: `require()` is what it tests.
    files: ['test/consumer-cjs/**'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
);

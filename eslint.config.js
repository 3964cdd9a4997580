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
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // The CommonJS consumer of the package: `require()` is what it tests.
    files: ['test/consumer-cjs/**'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
);

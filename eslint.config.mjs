// Type-aware lint: every rule that needs type information is on, and every finding is an error.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test-output/**', 'bench/results/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.mjs'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Nest modules and DTOs are classes with decorators only.
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      'no-console': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      // Nest's option types are declared as classes but are meant to be passed as object literals.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
    },
  },
  {
    // The layout's dependency rules (docs/architecture.md, Modules): the domain core does no I/O and
    // knows no HTTP; the worker side never reaches the HTTP edge; configuration is read in one place.
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts'] } } },
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './src/access-request',
              from: './src',
              except: ['./access-request'],
              message: 'the domain core imports nothing else of src/',
            },
            {
              target: [
                './src/submission',
                './src/identitynow',
                './src/tracking',
                './src/queue',
                './src/redis',
                './src/clients',
                './src/webhooks',
                './src/lifecycle',
              ],
              from: [
                './src/api/**',
                './src/admin/**',
                './src/auth/**',
                './src/{app.module,app.factory,bootstrap,main}.ts',
                './src/**/*.controller.ts',
                './src/**/*.guard.ts',
              ],
              message: 'the worker side must not reach the HTTP edge',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'read configuration through src/config/ only' },
      ],
    },
  },
  {
    files: ['src/access-request/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'ioredis',
                'bullmq',
                '@nestjs/*',
                '!@nestjs/swagger',
                'fastify',
                '@fastify/*',
                'undici',
                'node:http*',
                'node:net',
                'node:fs*',
              ],
              message:
                'the domain core does no I/O and knows no HTTP framework (OpenAPI decorators excepted)',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/config/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['**/*.mjs', 'scripts/**', 'bench/**'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      // Plain JavaScript scripts: no TypeScript program (and no default-project file limit).
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        fetch: 'readonly',
        AbortSignal: 'readonly',
      },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, 'no-console': 'off' },
  },
  {
    files: ['test/**/*.ts', 'src/**/*.spec.ts'],
    rules: {
      // supertest bodies are `any`; tests assert on them explicitly.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-console': 'off',
    },
  },
);

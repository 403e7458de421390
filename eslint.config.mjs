import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.autoclip/', 'tools/', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  ...boundaries(),
);

/**
 * The layers' boundaries (README, Layout): only db/ speaks to PostgreSQL, MongoDB, Redis and S3; nothing
 * reaches into api/ from activities/; workflows/ and providers/ do not load lib/ at run time;
 * workflows stay deterministic. One config per folder, since a later `no-restricted-imports` for
 * the same file replaces an earlier one.
 */
function boundaries() {
  const stores = [
    { group: ['mongoose', 'ioredis', '@aws-sdk/client-s3', '@aws-sdk/lib-storage'], message: 'only db/ speaks to MongoDB, Redis and S3: use a repository from ctx.db' },
  ];
  const rawSql = [
    'error',
    { selector: "MemberExpression[property.name='query'][object.name='sequelize']", message: 'raw SQL lives in db/: add a repository method' },
    { selector: "MemberExpression[property.name='query'][object.property.name='sequelize']", message: 'raw SQL lives in db/: add a repository method' },
    { selector: "ImportSpecifier[imported.name='QueryTypes']", message: 'raw SQL lives in db/: add a repository method' },
  ];
  const layer = (files, patterns) => ({ files, rules: { 'no-restricted-imports': ['error', { patterns }], 'no-restricted-syntax': rawSql } });
  return [
    layer(['api/**/*.ts', 'control/**/*.ts', 'lib/**/*.ts', 'worker.ts'], stores),
    layer(['activities/**/*.ts'], [...stores, { group: ['**/api/*', '**/api'], allowTypeImports: true, message: 'activities do not load the API: share through control/ or db/' }]),
    layer(['providers/**/*.ts'], [...stores, { group: ['**/lib/*'], allowTypeImports: true, message: 'providers take their settings as arguments; they do not load lib/' }]),
    layer(['workflows/**/*.ts'], [
      ...stores,
      { group: ['**/lib/*'], allowTypeImports: true, message: 'workflows do not load lib/' },
      { group: ['node:*', 'fs', 'path', 'crypto', 'child_process'], message: 'workflows must stay deterministic: no Node built-ins' },
      { group: ['@temporalio/activity', '@temporalio/client', '@temporalio/worker'], message: 'workflows import only @temporalio/workflow and @temporalio/common' },
    ]),
  ];
}

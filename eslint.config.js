// @ts-check
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import regexp from 'eslint-plugin-regexp';
import { bastionBoundary } from './scripts/lint/bastion-boundary.js';

// House rule: SQL is built only by Kysely with parameters. These selectors fail the build on
// the ways SQL gets built from strings: sql.raw/sql.lit, and a driver call (prepare, exec,
// query, unsafe) whose SQL text is a template with ${…} or a + concatenation.
export const stringBuiltSql = [
  {
    selector: "CallExpression[callee.object.name='sql'][callee.property.name=/^(raw|lit|unsafe)$/]",
    message: 'String-built SQL: use Kysely with parameters (sql`…${value}` binds values).',
  },
  {
    selector:
      'CallExpression[callee.property.name=/^(prepare|exec|query|unsafe|raw)$/] > TemplateLiteral.arguments:first-child[expressions.length>0]',
    message: 'String-built SQL: pass values as parameters, never inside the SQL text.',
  },
  {
    selector:
      "CallExpression[callee.property.name=/^(prepare|exec|query|unsafe|raw)$/] > BinaryExpression.arguments:first-child[operator='+']",
    message: 'String-built SQL: pass values as parameters, never concatenate them into SQL.',
  },
];

// Deny by default: a handler reads the signed-in user as request.member, which answers 401 (or
// the login page) when there is none. Asserting request.user non-null — `request.user!`, a copy
// of it as `user!`, or a cast `request.user as AuthUser` — turns a loosened guard into a 500.
export const nullableUser = [
  {
    selector: "TSNonNullExpression > MemberExpression.expression[property.name='user']",
    message: 'request.user! is a 500 when nobody is signed in: read request.member (401, or the login page, instead).',
  },
  {
    selector: "TSNonNullExpression > Identifier.expression[name='user']",
    message: 'user! is a 500 when nobody is signed in: read request.member (401, or the login page, instead).',
  },
  {
    selector: ":matches(TSAsExpression, TSTypeAssertion) > MemberExpression.expression[object.name=/^req(uest)?$/][property.name='user']",
    message: 'A cast of request.user hides a null: read request.member (401, or the login page, instead).',
  },
];

// ESLint's own defineConfig: typescript-eslint deprecated its config() helper in its favour.
export default defineConfig(
  { ignores: ['**/node_modules/', 'data/', '**/dist/', '**/.dist-*/', 'artifacts/', '**/test/fixtures/'] },
  ...tseslint.configs.recommended,
  // Every regular expression proven free of super-linear backtracking: a pattern that can take
  // quadratic or exponential time on crafted input is a denial of service in one request.
  regexp.configs['flat/recommended'],
  {
    languageOptions: {
      // Type-aware rules: every hook is async now, and a promise nobody awaits fails silently.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'regexp/no-super-linear-backtracking': 'error',
      'regexp/no-super-linear-move': 'error',
      // node:test's test() and describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      'no-restricted-syntax': ['error', ...stringBuiltSql, ...nullableUser],
      'no-console': 'error',
      'no-eval': 'error',
      'no-new-func': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Plain JavaScript is outside tsconfig.json: no type information to lint it with.
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['test/**', '*/*/test/**', '**/src/**/test/**', 'scripts/**', '*/*/bin/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // Applications import Bastion only by its package entries; Bastion imports no application.
    files: ['packages/**', 'examples/**', 'apps/**'],
    plugins: { bastion: { rules: { boundary: bastionBoundary } } },
    rules: { 'bastion/boundary': 'error' },
  },
);

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

// The lint rule that keeps applications on Bastion's public API (scripts/lint/bastion-boundary.js),
// run through the project's own eslint.config.js on source that never touches the disk (without
// type information, which only files on disk have; the rule needs none).

const eslint = new ESLint({ cwd: process.cwd(), overrideConfig: tseslint.configs.disableTypeChecked });

async function boundaryErrors(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'bastion/boundary').map((m) => m.message);
}

test('an example app that imports a Bastion internal fails lint; the public API, its own files and packages pass', async () => {
  const file = 'examples/guestbook/src/probe.ts';
  assert.equal((await boundaryErrors("import { AppError } from '../../../src/http/app-error.js';\nexport { AppError };\n", file)).length, 1);
  assert.equal((await boundaryErrors("export { sql } from '../../../src/db/database.js';\n", file)).length, 1, 're-exports too');
  assert.equal((await boundaryErrors("export const m = () => import('../../../src/runtime.js');\n", file)).length, 1, 'import() too');
  assert.deepEqual(await boundaryErrors("import { AppError } from '../../../src/bastion.js';\nimport { guestbook } from './guestbook.js';\nimport { Kysely } from 'kysely';\nexport { AppError, guestbook, Kysely };\n", file), []);
});

test('Bastion (src/) importing an application fails lint', async () => {
  const errors = await boundaryErrors("import { guestbook } from '../examples/guestbook/src/guestbook.js';\nexport { guestbook };\n", 'src/probe.ts');
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /never imports/);
});

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

test('an example app that imports a Bastion internal by path fails lint; the package entries, its own files and packages pass', async () => {
  const file = 'examples/guestbook/src/probe.ts';
  assert.equal(
    (await boundaryErrors("import { AppError } from '../../../packages/bastion/src/http/app-error.js';\nexport { AppError };\n", file))
      .length,
    1,
  );
  assert.equal(
    (await boundaryErrors("export { sql } from '../../../packages/bastion/src/db/database.js';\n", file)).length,
    1,
    're-exports too',
  );
  assert.equal(
    (await boundaryErrors("export const m = () => import('../../../packages/bastion/src/runtime.js');\n", file)).length,
    1,
    'import() too',
  );
  assert.equal(
    (await boundaryErrors("import { x } from '../../../apps/conduit/src/app.js';\nexport { x };\n", file)).length,
    1,
    'another app by path too',
  );
  assert.deepEqual(
    await boundaryErrors(
      "import { AppError } from 'bastion';\nimport { runAttackKit } from 'bastion/testing';\nimport { guestbook } from './guestbook.js';\nimport { Kysely } from 'kysely';\nexport { AppError, runAttackKit, guestbook, Kysely };\n",
      file,
    ),
    [],
  );
});

test("an app, its tests included, importing a subpath Bastion's package does not export fails lint; every exported entry passes", async () => {
  for (const file of ['apps/conduit/src/probe.ts', 'apps/conduit/test/probe.test.ts', 'examples/guestbook/test/probe.test.ts']) {
    for (const source of ['bastion/internals', 'bastion/src/http/app-error.js', 'bastion/dist/runtime.js']) {
      const errors = await boundaryErrors(`import { x } from '${source}';\nexport { x };\n`, file);
      assert.equal(errors.length, 1, `${source} from ${file}`);
      assert.match(errors[0]!, /not an entry of the Bastion package/);
    }
    for (const source of ['bastion', 'bastion/cli', 'bastion/testing', 'bastion/build-stamp'])
      assert.deepEqual(await boundaryErrors(`import { x } from '${source}';\nexport { x };\n`, file), [], `${source} from ${file}`);
  }
});

test('Bastion (packages/bastion) importing an application fails lint, by path or by name', async () => {
  const errors = await boundaryErrors(
    "import { guestbook } from '../../../examples/guestbook/src/guestbook.js';\nexport { guestbook };\n",
    'packages/bastion/src/probe.ts',
  );
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /never imports/);
  assert.equal(
    (await boundaryErrors("import { buildApp } from 'conduit';\nexport { buildApp };\n", 'packages/bastion/src/probe.ts')).length,
    1,
  );
});

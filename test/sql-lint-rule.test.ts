import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import test from 'node:test';
import { ESLint } from 'eslint';
import { houseSelectors, ROOT, type Selector, selectorLinter } from './helpers/selector-lint.js';

// The house rule "SQL only through Kysely with parameters" is enforced by no-restricted-syntax
// selectors in eslint.config.js (stringBuiltSql). These run ESLint itself on small snippets:
// each way of building SQL from a string is refused, the parameterized forms pass, and the
// project's own configuration applies the selectors to the source.

const messages = await selectorLinter('stringBuiltSql');
const stringBuiltSql = await houseSelectors('stringBuiltSql');

const STRING_BUILT: Record<string, string> = {
  'sql.raw with a value': 'sql.raw(x);',
  'sql.lit with a value': 'sql.lit(x);',
  'a driver query from a template with ${…}': 'db.query(`select * from users where name = ${x}`);',
  'a prepared statement from a template': 'sqlite.prepare(`delete from sessions where id = ${id}`).run();',
  'exec of a concatenation': "sqlite.exec('drop table ' + x);",
  'a driver query from a concatenation': "pool.query('select * from users where name = \\'' + x + '\\'');",
  'unsafe of a template': 'client.unsafe(`select ${column} from t`);',
};

for (const [name, code] of Object.entries(STRING_BUILT)) {
  test(`the SQL lint rule refuses string-built SQL: ${name}`, async () => {
    const found = await messages(code);
    assert.equal(found.length, 1, `one finding for ${code}: ${JSON.stringify(found)}`);
    assert.match(found[0]!, /^no-restricted-syntax: String-built SQL/);
  });
}

const PARAMETERIZED: Record<string, string> = {
  'a driver query with $1 and its values': "pool.query('select * from users where name = $1', [x]);",
  'a prepared statement with ? bound at run': "sqlite.prepare('delete from sessions where id = ?').run(id);",
  'a template without values': 'db.query(`select 1`);',
  "Kysely's sql tag, which binds every ${value}": 'sql`select * from users where name = ${x}`.execute(db);',
  'the query builder': "db.selectFrom('users').select('id').where('username', '=', x).execute();",
  'string concatenation that is not SQL': "const greeting = 'a' + x;",
};

for (const [name, code] of Object.entries(PARAMETERIZED)) {
  test(`the SQL lint rule lets parameterized SQL pass: ${name}`, async () => {
    assert.deepEqual(await messages(code), []);
  });
}

test('the project lint configuration applies the string-built SQL selectors to the source and the tests', async () => {
  const project = new ESLint({ cwd: ROOT });
  for (const file of [
    'apps/conduit/src/app.ts',
    'packages/bastion/src/db/database.ts',
    'apps/conduit/test/sql-injection.test.ts',
    'examples/guestbook/src/messages.ts',
  ]) {
    assert.ok(existsSync(`${ROOT}${file}`), `${file} exists`);
    const config = (await project.calculateConfigForFile(`${ROOT}${file}`)) as { rules: Record<string, unknown[]> };
    const rule = config.rules['no-restricted-syntax'] ?? [];
    for (const { selector } of stringBuiltSql) {
      assert.ok(
        rule.some((entry) => typeof entry === 'object' && entry !== null && (entry as Selector).selector === selector),
        `${file} is linted with ${selector}`,
      );
    }
  }
});

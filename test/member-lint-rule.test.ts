import assert from 'node:assert/strict';
import test from 'node:test';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { ROOT, selectorLinter } from './helpers/selector-lint.js';

// A handler reads the signed-in user as request.member (401 or the login page without one); the
// nullableUser selectors in eslint.config.js refuse every way of asserting request.user non-null
// instead. These run ESLint on snippets: each assertion is refused, the typed and null-aware
// reads pass, and the project's configuration applies the selectors to src/ and examples/.

const messages = await selectorLinter('nullableUser');

const ASSERTED: Record<string, string> = {
  'request.user!': 'save(request.user!.id);',
  'req.user! in a Fastify hook': 'const id = req.user!.id;',
  'a copy of it as user!': 'const user = request.user;\nsave(user!.id);',
  'a cast to AuthUser': 'save((request.user as AuthUser).id);',
  'an angle-bracket cast': 'save((<AuthUser>req.user).id);',
};

for (const [name, code] of Object.entries(ASSERTED)) {
  test(`the member lint rule refuses a non-null current user: ${name}`, async () => {
    const found = await messages(code);
    assert.equal(found.length, 1, `one finding for ${code}: ${JSON.stringify(found)}`);
    assert.match(found[0]!, /^no-restricted-syntax: .*request\.member/);
  });
}

const TYPED: Record<string, string> = {
  'request.member': 'save(request.member.id);',
  'an optional read on a public route': 'list(request.user?.id ?? null);',
  'a null check first': 'if (request.user) audit(request.user.id);',
  'a non-null assertion on something else': 'const row = rows[0]!;',
  'a cast of a parsed body': 'const u = JSON.parse(body).user as { email: string };',
};

for (const [name, code] of Object.entries(TYPED)) {
  test(`the member lint rule lets the typed reads pass: ${name}`, async () => {
    assert.deepEqual(await messages(code), []);
  });
}

test('the project lint configuration refuses request.user! in Bastion, Conduit and the example', async () => {
  // The project's own configuration, on source that never touches the disk (so without type
  // information, which only files on disk have; the selectors need none).
  const project = new ESLint({ cwd: ROOT, overrideConfig: tseslint.configs.disableTypeChecked });
  for (const file of ['packages/bastion/src/pages/probe.ts', 'apps/conduit/src/pages/probe.ts', 'examples/guestbook/src/probe.ts']) {
    const [result] = await project.lintText(
      'declare const request: { user: { id: number } | null };\nexport const id = request.user!.id;\n',
      { filePath: `${ROOT}${file}` },
    );
    const found = (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.message);
    assert.equal(found.length, 1, `${file}: ${JSON.stringify(result?.messages)}`);
    assert.match(found[0]!, /request\.member/);
  }
});

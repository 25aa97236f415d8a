import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'node:test';

// One place writes the CSRF hidden input: views/partials/csrf-field.eta. Every other template
// includes it (`<%~ include('/partials/csrf-field', it) %>`), so the field's name and escaping
// cannot drift between forms. This scans every template under every views directory of Bastion
// and its apps: a hand-written `_csrf` field fails, and so does a POST form without the partial.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PARTIAL = join('partials', 'csrf-field.eta');
const INCLUDE = /include\(\s*'\/partials\/csrf-field'/;

/** The ways a template writes the field itself: the field's name, or the token printed bare. */
const HAND_WRITTEN = [/name\s*=\s*["']?_csrf\b/i, /<%[=~-]?\s*it\.csrfToken\b/];

/** Lines of `text` that write the CSRF field by hand (1-based). */
function handWrittenLines(text: string): number[] {
  return text.split('\n').flatMap((line, i) => (HAND_WRITTEN.some((re) => re.test(line)) ? [i + 1] : []));
}

/** Opening tags of POST forms in `text` whose body has no include of the partial. */
function postFormsWithoutPartial(text: string): string[] {
  return [...text.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form>/gi)].flatMap(([form, body]) => {
    const open = form.slice(0, form.indexOf('>') + 1);
    return /method\s*=\s*["']?post/i.test(open) && !INCLUDE.test(body!) ? [open] : [];
  });
}

function templatesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : templatesUnder(path);
    return entry.name.endsWith('.eta') ? [path] : [];
  });
}

/** Every .eta inside a `views` directory under `roots` (Bastion's and each app's). */
function viewTemplates(roots: readonly string[]): string[] {
  return roots
    .filter((root) => existsSync(root))
    .flatMap(templatesUnder)
    .filter((file) => file.split(sep).includes('views'));
}

/** `file:line` for each hand-written field and `file: <form …>` for each POST form without the partial. */
function findings(files: readonly string[]): string[] {
  return files.flatMap((file) => {
    if (file.endsWith(`views${sep}${PARTIAL}`)) return [];
    const text = readFileSync(file, 'utf8');
    const name = relative(ROOT, file);
    return [
      ...handWrittenLines(text).map((line) => `${name}:${line} writes the _csrf field by hand`),
      ...postFormsWithoutPartial(text).map((open) => `${name}: ${open} has no csrf-field partial`),
    ];
  });
}

const PROJECT_ROOTS = ['examples', 'packages', 'apps'].map((dir) => join(ROOT, dir));

test('no template writes the CSRF field by hand, and every POST form includes the partial', () => {
  const files = viewTemplates(PROJECT_ROOTS);
  // Bastion's views and the example app's are both scanned, and the partial is among them.
  for (const dir of [
    join('packages', 'bastion', 'src', 'views'),
    join('apps', 'conduit', 'src', 'views'),
    join('examples', 'guestbook', 'views'),
  ]) {
    assert.ok(
      files.some((file) => relative(ROOT, file).startsWith(dir + sep)),
      `templates under ${dir} are scanned`,
    );
  }
  assert.ok(
    files.some((file) => file.endsWith(`views${sep}${PARTIAL}`)),
    'the partial itself is found',
  );
  assert.deepEqual(findings(files), []);
});

test('the check refuses each way of writing the field by hand and lets the include pass', () => {
  for (const line of [
    '<input type="hidden" name="_csrf" value="<%= it.csrfToken %>">',
    "<input type='hidden' name='_csrf' value='<%= token %>'>",
    '<input type=hidden name=_csrf value=x>',
    '<INPUT TYPE="HIDDEN" NAME="_csrf" VALUE="<%= it.token %>">',
    '<input type="hidden" name="token" value="<%~ it.csrfToken %>">',
  ]) {
    assert.deepEqual(handWrittenLines(`<form method="post">\n  ${line}\n</form>`), [2], line);
  }
  assert.deepEqual(handWrittenLines('<form method="post"><%~ include(\'/partials/csrf-field\', it) %></form>'), []);
  assert.deepEqual(
    handWrittenLines("<%~ include('./partials/passkeys', { csrfToken: it.csrfToken }) %>"),
    [],
    'handing the token on to a partial is not writing the field',
  );
});

test('the check refuses a POST form without the partial, not a GET form', () => {
  assert.deepEqual(postFormsWithoutPartial('<form method="post" action="/x"><button>Go</button></form>'), [
    '<form method="post" action="/x">',
  ]);
  assert.deepEqual(
    postFormsWithoutPartial('<form method="post" action="/x"><%~ include(\'/partials/csrf-field\', it) %><button>Go</button></form>'),
    [],
  );
  assert.deepEqual(postFormsWithoutPartial('<form method="get" action="/search"><input name="q"></form>'), []);
});

test('a views directory with a hand-written field is reported; the partial itself is not', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'csrf-templates-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'app', 'views', 'partials'), { recursive: true });
  writeFileSync(join(dir, 'app', 'views', PARTIAL), readFileSync(join(ROOT, 'packages', 'bastion', 'src', 'views', PARTIAL)));
  writeFileSync(
    join(dir, 'app', 'views', 'good.eta'),
    '<form method="post" action="/a"><%~ include(\'/partials/csrf-field\', it) %></form>\n',
  );
  writeFileSync(
    join(dir, 'app', 'views', 'bad.eta'),
    '<h1>Bad</h1>\n<form method="post" action="/b">\n  <input type="hidden" name="_csrf" value="<%= it.csrfToken %>">\n</form>\n',
  );
  const found = findings(viewTemplates([dir])).map((f) => f.replace(/^.*?app[\\/]views[\\/]/, ''));
  assert.deepEqual(found, [
    'bad.eta:3 writes the _csrf field by hand',
    'bad.eta: <form method="post" action="/b"> has no csrf-field partial',
  ]);
});

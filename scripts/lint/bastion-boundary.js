// @ts-check
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

// The boundary between the Bastion package and the applications built on it, checked on resolved
// paths (a pattern on the import text cannot tell an app's own files from another package's):
//  - an application (apps/*, examples/*), its tests included, reaches Bastion only through the
//    entries the package exports ('bastion', 'bastion/cli', 'bastion/testing', …, read from its
//    package.json) — never a relative path into packages/, nor a subpath the package does not export;
//  - Bastion (packages/*) never imports an application, by path or by name: the stack sits under
//    the apps.
// Static imports, re-exports and import() with a literal are all checked.

const ROOT = resolve(import.meta.dirname, '..', '..');
const APP_NAMES = /^(?:conduit|guestbook-example)(?:\/|$)/;
// The package's own list of entries: a new entry needs no change here.
const ENTRIES = new Set(
  Object.keys(JSON.parse(readFileSync(join(ROOT, 'packages', 'bastion', 'package.json'), 'utf8')).exports).map((key) =>
    key === '.' ? 'bastion' : `bastion/${key.slice(2)}`,
  ),
);

const within = (dir, path) => path === dir || path.startsWith(dir + sep);
const workspaceOf = (path) => path.split(sep).slice(0, 2).join(sep);

/** @type {import('eslint').Rule.RuleModule} */
export const bastionBoundary = {
  meta: {
    type: 'problem',
    docs: { description: 'Applications import Bastion only by its package entries; Bastion imports no application.' },
    messages: {
      deep: "'{{source}}' reaches into another package's files: import Bastion as 'bastion' (the public API) or 'bastion/testing'.",
      entry:
        "'{{source}}' is not an entry of the Bastion package: import 'bastion' (the public API) or another entry its package.json exports.",
      app: "'{{source}}' is an application: Bastion never imports one.",
    },
    schema: [],
  },
  create(context) {
    const from = relative(ROOT, context.filename);
    const isApp = /^(?:examples|apps)[\\/][^\\/]+[\\/]/.test(from);
    const isBastion = within('packages', from);
    if (!isApp && !isBastion) return {};
    /** @param {import('estree').Node | null | undefined} node */
    const check = (node) => {
      if (!node || node.type !== 'Literal' || typeof node.value !== 'string') return;
      const source = node.value;
      if (!source.startsWith('.')) {
        if (isApp && source.startsWith('bastion/') && !ENTRIES.has(source)) context.report({ node, messageId: 'entry', data: { source } });
        if (isBastion && APP_NAMES.test(source)) context.report({ node, messageId: 'app', data: { source } });
        return;
      }
      const target = relative(ROOT, resolve(dirname(context.filename), source));
      if (isApp && within('packages', target)) context.report({ node, messageId: 'deep', data: { source } });
      if (isApp && (within('apps', target) || within('examples', target)) && workspaceOf(target) !== workspaceOf(from))
        context.report({ node, messageId: 'deep', data: { source } });
      if (isBastion && (within('examples', target) || within('apps', target))) context.report({ node, messageId: 'app', data: { source } });
    };
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
    };
  },
};

// @ts-check
import { dirname, relative, resolve, sep } from 'node:path';

// The boundary between the Bastion package and the applications built on it, checked on resolved
// paths (a pattern on the import text cannot tell an app's own files from another package's):
//  - an application (apps/*, examples/*) reaches Bastion only by the package's name: 'bastion' (the
//    public API) and 'bastion/testing' (the attack kit) — never a relative path into packages/,
//    and never 'bastion/internals' from its source (only its tests may inspect the stack's state);
//  - Bastion (packages/*) never imports an application, by path or by name: the stack sits under
//    the apps.
// Static imports, re-exports and import() with a literal are all checked.

const ROOT = resolve(import.meta.dirname, '..', '..');
const APP_NAMES = /^(?:conduit|guestbook-example)(?:\/|$)/;

const within = (dir, path) => path === dir || path.startsWith(dir + sep);
const workspaceOf = (path) => path.split(sep).slice(0, 2).join(sep);

/** @type {import('eslint').Rule.RuleModule} */
export const bastionBoundary = {
  meta: {
    type: 'problem',
    docs: { description: 'Applications import Bastion only by its package entries; Bastion imports no application.' },
    messages: {
      deep: "'{{source}}' reaches into another package's files: import Bastion as 'bastion' (the public API) or 'bastion/testing'.",
      internals: "'bastion/internals' is for tests that inspect the stack's state: an application's source uses 'bastion'.",
      app: "'{{source}}' is an application: Bastion never imports one.",
    },
    schema: [],
  },
  create(context) {
    const from = relative(ROOT, context.filename);
    const isApp = /^(?:examples|apps)[\\/][^\\/]+[\\/]/.test(from);
    const isBastion = within('packages', from);
    if (!isApp && !isBastion) return {};
    const isAppSource = isApp && from.split(sep)[2] !== 'test';
    /** @param {import('estree').Node | null | undefined} node */
    const check = (node) => {
      if (!node || node.type !== 'Literal' || typeof node.value !== 'string') return;
      const source = node.value;
      if (!source.startsWith('.')) {
        if (isAppSource && source === 'bastion/internals') context.report({ node, messageId: 'internals' });
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

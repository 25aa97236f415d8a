// @ts-check
import { dirname, relative, resolve, sep } from 'node:path';

// The boundary between Bastion and the applications built on it, checked on resolved paths (a
// pattern on the import text cannot tell an app's own src/ from Bastion's):
//  - an application (examples/, apps/) imports Bastion only through its two public entries,
//    src/bastion.ts and src/testing/index.ts (bastion/testing, the attack kit for its tests), so it
//    cannot reach an internal that may change, or rebuild a piece of the security layer without the rest;
//  - Bastion (src/) never imports an application: the stack sits under the apps.
// Static imports, re-exports and import() with a literal are all checked.

const ROOT = resolve(import.meta.dirname, '..', '..');
const PUBLIC_API = /^src[\\/](?:bastion|testing[\\/]index)\.(?:js|ts)$/;

const within = (dir, path) => path === dir || path.startsWith(dir + sep);

/** @type {import('eslint').Rule.RuleModule} */
export const bastionBoundary = {
  meta: {
    type: 'problem',
    docs: { description: 'Applications import Bastion only through src/bastion.ts; Bastion imports no application.' },
    messages: {
      deep: "'{{source}}' reaches into Bastion's internals: import from src/bastion.js (the public API) or src/testing/index.js (bastion/testing) instead.",
      app: "'{{source}}' is an application: Bastion (src/) never imports one.",
    },
    schema: [],
  },
  create(context) {
    const from = relative(ROOT, context.filename);
    const isApp = /^(?:examples|apps)[\\/]/.test(from);
    const isBastion = within('src', from);
    if (!isApp && !isBastion) return {};
    /** @param {import('estree').Node | null | undefined} node */
    const check = (node) => {
      if (!node || node.type !== 'Literal' || typeof node.value !== 'string' || !node.value.startsWith('.')) return;
      const target = relative(ROOT, resolve(dirname(context.filename), node.value));
      if (isApp && within('src', target) && !PUBLIC_API.test(target)) context.report({ node, messageId: 'deep', data: { source: node.value } });
      if (isBastion && (within('examples', target) || within('apps', target))) context.report({ node, messageId: 'app', data: { source: node.value } });
    };
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
    };
  },
};

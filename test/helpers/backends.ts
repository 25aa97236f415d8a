// The backends and their isolation ship with the stack (src/testing/backends.ts), so an app's
// own tests and the attack kit isolate their stores the same way; re-exported for our tests.
export * from '../../src/testing/backends.js';

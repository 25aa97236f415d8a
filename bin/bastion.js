#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: no build step, so `npx bastion`
// can never run stale compiled code.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');

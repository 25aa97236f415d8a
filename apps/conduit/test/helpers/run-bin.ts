import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The real `bastion` command (apps/conduit/bin/conduit.js, running dist/), as an operator types it.

export const BIN = fileURLToPath(new URL('../../bin/conduit.js', import.meta.url));

export interface BinResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `bastion <args>` with exactly `env` (nothing inherited), `stdin` written and closed. */
export function runBin(args: readonly string[], env: Record<string, string>, stdin = ''): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += String(c)));
    child.stderr.on('data', (c: Buffer) => (stderr += String(c)));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The production log destination batches lines (packages/bastion/src/http/log-destination.ts). What it promises:
// an error or warning is written at once, an info line within 100 ms, and everything buffered
// is written when the process exits. Each case runs in its own process and then dies the way a
// crashed or killed server would, to see what reached standard output.

const DESTINATION = fileURLToPath(new URL('../src/http/log-destination.ts', import.meta.url));

function childScript(body: string): string {
  return `import { stdoutDestination } from ${JSON.stringify(DESTINATION)};
const log = stdoutDestination();
const line = (level, msg) => log.write(JSON.stringify({ level, time: Date.now(), msg }) + '\\n');
// Blocks the event loop: no timer (the periodic flush included) can run meanwhile.
const block = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
${body}`;
}

function runChild(body: string): Promise<{ stdout: string; signal: NodeJS.Signals | null; code: number | null }> {
  const script = childScript(body);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr.resume();
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ stdout, code, signal }));
  });
}

test('an error line is written at once, with the info lines before it, even if the process is then killed', async () => {
  const out = await runChild(`line(30, 'before the error'); line(50, 'the error'); block(50); process.kill(process.pid, 'SIGKILL');`);
  assert.equal(out.signal, 'SIGKILL');
  assert.match(out.stdout, /before the error[^\n]*\n[^\n]*the error/);
});

test('a warning is written at once', async () => {
  const out = await runChild(`line(40, 'a warning'); block(50); process.kill(process.pid, 'SIGKILL');`);
  assert.match(out.stdout, /a warning/);
});

test('an info line is written within 100 ms while the event loop runs', async () => {
  const out = await runChild(`line(30, 'routine'); setTimeout(() => process.kill(process.pid, 'SIGKILL'), 400);`);
  assert.equal(out.signal, 'SIGKILL');
  assert.match(out.stdout, /routine/);
});

test('buffered info lines are written when the process exits, by exit() or by an uncaught exception', async () => {
  const exited = await runChild(`for (let i = 0; i < 50; i++) line(30, 'line ' + i); process.exit(3);`);
  assert.equal(exited.code, 3);
  assert.equal(exited.stdout.trim().split('\n').length, 50);
  const crashed = await runChild(`line(30, 'last words'); throw new Error('crash');`);
  assert.notEqual(crashed.code, 0);
  assert.match(crashed.stdout, /last words/);
});

test('info lines wait in the buffer instead of costing a write each', async () => {
  // Killed before the periodic flush could run: the line is still in memory, so it is lost.
  // This is the price the batching pays (at most 100 ms of info lines); the test shows the
  // buffering is real, not that losing them is wanted.
  const out = await runChild(`line(30, 'still buffered'); block(20); process.kill(process.pid, 'SIGKILL');`);
  assert.doesNotMatch(out.stdout, /still buffered/);
});

test('a closed standard output (EPIPE) does not kill the server: logging stops, the process goes on', async () => {
  const script = childScript(`setTimeout(() => {
  for (let i = 0; i < 30; i++) line(30, 'into a closed pipe ' + i);
  line(50, 'an error nobody can read');
  setTimeout(() => process.exit(7), 300);
}, 300);`);
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // The reader goes away before the first line is written.
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(code, 7, `the process ran on to its own exit; stderr: ${stderr}`);
});

import type { WriteStream } from 'node:tty';
import type { SeedPhase } from './seed.js';

// A progress bar on standard error without a dependency: redrawn in place on a terminal (at
// most ten times a second), a single line per finished phase when piped to a file or a CI log.

const WIDTH = 30;

export function progressBar(
  stream: NodeJS.WriteStream | WriteStream = process.stderr,
): (phase: SeedPhase, done: number, total: number) => void {
  let lastDraw = 0;
  return function drawProgress(phase, done, total) {
    const finished = done >= total;
    if (!stream.isTTY) {
      if (finished) stream.write(`${phase}: ${total}\n`);
      return;
    }
    const now = Date.now();
    if (!finished && now - lastDraw < 100) return;
    lastDraw = now;
    const ratio = total === 0 ? 1 : done / total;
    const filled = Math.round(ratio * WIDTH);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}`;
    stream.write(`\r${phase.padEnd(9)} ${bar} ${String(Math.round(ratio * 100)).padStart(3)}% ${done}/${total}${finished ? '\n' : ''}`);
  };
}

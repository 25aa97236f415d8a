import { cpus, loadavg } from 'node:os';
import { parseBenchArgs, UsageError } from './options.js';
import { formatReport } from './report.js';
import { benchBackend } from './runner.js';

// `npm run bench`: every scenario on SQLite, then on PostgreSQL + Redis; a Markdown table per
// backend on stdout, progress on stderr. `npm run bench -- --quick` for a short run.

let options;
try {
  options = parseBenchArgs(process.argv.slice(2), process.env);
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}

const cpu = cpus();
process.stdout.write(
  `Bastion bench — ${new Date().toISOString()}, Node ${process.version}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ` +
    `load average at start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n\n`,
);
for (const backend of options.backends) {
  const report = await benchBackend(backend, options);
  process.stdout.write(
    `${formatReport(report)}\n\nLoad average after the ${backend} run: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n\n`,
  );
}

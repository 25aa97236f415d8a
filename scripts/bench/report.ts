import { HASH_CONCURRENCY } from '../../packages/bastion/src/accounts/password-hasher.js';
import { SCAN_CONCURRENCY } from '../../packages/bastion/src/security/scan-admission.js';
import type { LoadResult } from './load.js';
import type { BackendReport, ScenarioResult } from './runner.js';
import { unexpectedErrors } from './scenarios.js';

// The printed result: one Markdown table per backend (so it can be pasted into
// docs/performance.md as is), then each budget line with the numbers it was judged on.

const MB = 1024 * 1024;
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (n: number): string => (n >= 10 ? fmt(n, 0) : fmt(n, 1));

function errorsCell(r: LoadResult): string {
  const codes = Object.entries(r.statuses).map(([code, n]) => `${n}×${code}`);
  return r.errors === 0 ? '0' : `${fmt(r.errors)}${codes.length ? ` (${codes.join(', ')})` : ''}`;
}

function row(label: string, r: LoadResult, cpu: number | null, loop: number | null, note = ''): string {
  return `| ${label} | ${fmt(r.rps)} | ${ms(r.p50)} | ${ms(r.p99)} | ${errorsCell(r)} | ${cpu === null ? '' : fmt(cpu)} | ${loop === null ? '' : ms(loop)} | ${note} |`;
}

const find = (report: BackendReport, id: string): ScenarioResult | undefined => report.results.find((r) => r.scenario.id === id);

export interface BudgetLine {
  readonly text: string;
  readonly met: boolean;
}

/** The budget of the performance issue, judged on this run's numbers (lines whose scenarios did not run are left out). */
export function budgets(report: BackendReport): BudgetLine[] {
  const lines: BudgetLine[] = [];
  const ratio = (id: string, base: string, min: number, what: string): void => {
    const a = find(report, id);
    const b = find(report, base);
    if (!a || !b) return;
    const r = a.result.rps / b.result.rps;
    lines.push({ text: `${what}: ${fmt(r * 100)}% (≥ ${fmt(min * 100)}%)`, met: r >= min });
  };
  ratio('trivial', 'bare-fastify', 0.85, 'trivial route through the full security layer vs bare Fastify');
  const quiet = find(report, 'trivial-quiet');
  const bare = find(report, 'bare-fastify');
  if (quiet && bare)
    lines.push({
      text: `(for reference, without the per-request log lines: ${fmt((quiet.result.rps / bare.result.rps) * 100)}%)`,
      met: quiet.result.rps / bare.result.rps >= 0.85,
    });
  const headers = find(report, 'bare-headers');
  const trivial = find(report, 'trivial');
  if (headers && bare)
    lines.push({
      text: `(for reference, bare Fastify sending the app's response headers: ${fmt((headers.result.rps / bare.result.rps) * 100)}% of bare Fastify)`,
      met: headers.result.rps / bare.result.rps >= 0.85,
    });
  const floor = find(report, 'floor');
  if (floor && bare)
    lines.push({
      text: `(for reference, the least layer the SPEC allows: ${fmt((floor.result.rps / bare.result.rps) * 100)}% of bare Fastify)`,
      met: floor.result.rps / bare.result.rps >= 0.85,
    });
  if (floor && trivial)
    lines.push({
      text: `(for reference, the full security layer vs that least layer: ${fmt((trivial.result.rps / floor.result.rps) * 100)}%)`,
      met: trivial.result.rps / floor.result.rps >= 0.85,
    });
  if (headers && trivial)
    lines.push({
      text: `(for reference, the full security layer vs bare Fastify sending the same headers: ${fmt((trivial.result.rps / headers.result.rps) * 100)}%)`,
      met: trivial.result.rps / headers.result.rps >= 0.85,
    });
  ratio('api-list', 'bare-query', 0.7, 'GET /api/articles?limit=20 vs the bare query baseline');
  const list = find(report, 'api-list');
  if (list) lines.push({ text: `GET /api/articles?limit=20 p99: ${ms(list.result.p99)} ms (< 25 ms)`, met: list.result.p99 < 25 });
  ratio('html-home', 'api-list', 0.5, 'HTML home page vs the JSON list (within 2×)');
  ratio('html-article', 'api-article', 0.5, 'HTML article page vs GET /api/articles/:slug (within 2×)');
  const login = find(report, 'login');
  if (login?.probe)
    lines.push({
      text: `GET /api/tags p99 while 50 connections hammer login: ${ms(login.probe.p99)} ms (< 50 ms)`,
      met: login.probe.p99 < 50,
    });
  const m = report.memoryPhase;
  if (m) {
    const growth = m.last.rss / m.first.rss - 1;
    lines.push({
      text: `RSS after ${fmt(m.requests[1])} requests vs after ${fmt(m.requests[0])}: ${fmt(m.first.rss / MB, 1)} → ${fmt(m.last.rss / MB, 1)} MB (${growth >= 0 ? '+' : ''}${fmt(growth * 100, 1)}%, ≤ +10%)`,
      met: growth <= 0.1,
    });
  }
  const errors =
    report.results.reduce((n, r) => n + unexpectedErrors(r.scenario, r.result) + (r.probe?.errors ?? 0), 0) + (m?.result.errors ?? 0);
  lines.push({
    text: `errors (connection errors, timeouts, non-2xx but the search flood's 503s) over the whole run: ${fmt(errors)}`,
    met: errors === 0,
  });
  return lines;
}

export function formatReport(report: BackendReport): string {
  const title = report.backend === 'sqlite' ? 'SQLite, in-process stores' : 'PostgreSQL + Redis';
  const out = [
    `### ${title}`,
    '',
    `${report.connections} connections, ${report.duration} s per scenario (${report.rounds === 1 ? 'one run' : `${report.rounds} rounds of ${fmt(report.duration / report.rounds, 1)} s, every scenario in each; the login one once`}); ` +
      `seed: ${fmt(report.seed.users)} users, ${fmt(report.seed.articles)} articles. Latency columns over rounds: the worse round.`,
    '',
    '| scenario | req/s | p50 ms | p99 ms | errors | server CPU µs/req | event-loop delay p99 ms | |',
    '|---|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const r of report.results) {
    const note =
      r.scenario.target === 'baseline' || r.scenario.target === 'floor'
        ? 'baseline'
        : r.scenario.refusals
          ? `${r.scenario.refusals.join(', ')}: refused at once, by design`
          : '';
    out.push(row(r.scenario.label, r.result, r.cpuPerRequest, r.loopDelayP99, note));
    if (r.probe && r.scenario.probe)
      out.push(
        row(
          `↳ ${r.scenario.probe.label}`,
          r.probe,
          null,
          null,
          `${r.scenario.probe.overallRate} req/s probe, ${r.scenario.probe.connections} connections`,
        ),
      );
  }
  const m = report.memoryPhase;
  if (m) out.push(row(`memory phase: ${fmt(m.requests[1])} mixed reads`, m.result, null, null, 'latency: worse of its two parts'));
  out.push('');
  if (m) {
    out.push(
      `Memory of the app process (after a full GC): after ${fmt(m.requests[0])} requests RSS ${fmt(m.first.rss / MB, 1)} MB, heap ${fmt(m.first.heapUsed / MB, 1)} MB; ` +
        `after ${fmt(m.requests[1])} RSS ${fmt(m.last.rss / MB, 1)} MB, heap ${fmt(m.last.heapUsed / MB, 1)} MB.`,
    );
  }
  out.push(`Peak RSS of the app process over the run: ${fmt(report.peakRss / MB, 1)} MB.`);
  const login = find(report, 'login');
  if (login) {
    out.push(
      `Logins: argon2id runs at most ${HASH_CONCURRENCY} at once (min(2, cores − 1)); the other logins queue (p50 ${ms(login.result.p50)} ms) ` +
        `while the event loop stays free (delay p99 ${ms(login.loopDelayP99)} ms). Successful logins count toward no login limit, so none is refused.`,
    );
  }
  const search = find(report, 'search');
  if (search?.probe) {
    const answered = search.result.requests - search.result.errors;
    out.push(
      `Searches: at most ${SCAN_CONCURRENCY} scan${SCAN_CONCURRENCY === 1 ? '' : 's'} at once (${report.backend === 'sqlite' ? 'on a reader thread' : 'on the pool'}), ${fmt((answered / search.result.requests) * search.result.rps)} answered per second, ` +
        `the rest refused at once while the queue was full; meanwhile GET /api/tags p99 ${ms(search.probe.p99)} ms and the event-loop delay p99 ${ms(search.loopDelayP99)} ms.`,
    );
  }
  out.push('', 'Budget:', '');
  for (const line of budgets(report)) out.push(`- ${line.met ? '✅' : '❌'} ${line.text}`);
  return out.join('\n');
}

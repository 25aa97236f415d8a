// What one `npm audit --json` answer means for the run (scripts/audit.js): a verdict with the
// line to print. Kept apart so that the decision is tested on reports of every kind.

export const LEVELS = ['info', 'low', 'moderate', 'high', 'critical'] as const;
const UNREACHABLE = /\b(?:405|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH)\b/;

export type Level = (typeof LEVELS)[number];
export interface Verdict {
  readonly verdict: 'pass' | 'fail' | 'unchecked';
  readonly line: string;
}
interface AuditJson {
  readonly message?: string;
  readonly metadata?: { readonly vulnerabilities?: Partial<Record<Level, number>> };
}

export function auditVerdict(output: string, level: Level): Verdict {
  let report: AuditJson | null;
  try {
    report = JSON.parse(output) as AuditJson;
  } catch {
    report = null;
  }
  const counts = report?.metadata?.vulnerabilities;
  if (counts) {
    const blocking = LEVELS.slice(LEVELS.indexOf(level)).reduce((n, l) => n + (counts[l] ?? 0), 0);
    const summary = LEVELS.map((l) => `${l} ${counts[l] ?? 0}`).join(', ');
    return blocking > 0
      ? {
          verdict: 'fail',
          line: `npm audit: ${blocking} production advisories at ${level} or above (${summary}); \`npm audit --omit=dev\` lists them`,
        }
      : { verdict: 'pass', line: `npm audit: no production advisory at ${level} or above (${summary})` };
  }
  const unreachable = (report?.message ?? output).match(UNREACHABLE);
  if (unreachable)
    return {
      verdict: 'unchecked',
      line: `npm audit: the advisory service could not be reached (${report?.message ?? unreachable[0]}); NO advisory check was made in this run`,
    };
  return { verdict: 'fail', line: `npm audit gave no report: ${output.trim().slice(0, 2000)}` };
}

/** The same for `npm audit signatures`, which answers in text. */
export function signaturesVerdict(code: number, output: string): Verdict {
  if (code === 0) return { verdict: 'pass', line: `npm audit signatures: ${output.trim().split('\n')[0] || 'verified'}` };
  const unreachable = output.match(UNREACHABLE);
  if (unreachable)
    return {
      verdict: 'unchecked',
      line: `npm audit signatures: the signature service could not be reached (${unreachable[0]}); NO signature check was made in this run`,
    };
  return { verdict: 'fail', line: `npm audit signatures: ${output.trim().slice(0, 2000)}` };
}

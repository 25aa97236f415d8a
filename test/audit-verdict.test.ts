import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditVerdict, signaturesVerdict } from '../scripts/audit-verdict.js';

// `npm run audit` fails CI on a finding, and says plainly when a check could not be made.

const report = (counts: Record<string, number>): string =>
  JSON.stringify({
    auditReportVersion: 2,
    vulnerabilities: {},
    metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...counts } },
  });

test('a production advisory at the stated level or above fails the audit', () => {
  assert.equal(auditVerdict(report({ moderate: 1 }), 'moderate').verdict, 'fail');
  assert.equal(auditVerdict(report({ critical: 2 }), 'high').verdict, 'fail');
  assert.match(auditVerdict(report({ high: 1, low: 3 }), 'moderate').line, /1 production advisories at moderate or above/);
});

test('advisories below the stated level, or none, pass', () => {
  assert.equal(auditVerdict(report({ low: 4 }), 'moderate').verdict, 'pass');
  assert.equal(auditVerdict(report({}), 'info').verdict, 'pass');
});

test('an unreachable advisory service is reported as unchecked, never as passed', () => {
  const refused = JSON.stringify({
    message: '405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk',
    statusCode: 405,
  });
  const verdict = auditVerdict(refused, 'moderate');
  assert.equal(verdict.verdict, 'unchecked');
  assert.match(verdict.line, /NO advisory check was made/);
  assert.equal(auditVerdict('npm error network getaddrinfo ENOTFOUND registry', 'moderate').verdict, 'unchecked');
});

test('an answer that is neither a report nor a network failure fails the audit', () => {
  assert.equal(auditVerdict('', 'moderate').verdict, 'fail');
  assert.equal(auditVerdict('{"error":{"code":"EJSONPARSE"}}', 'moderate').verdict, 'fail');
});

test('invalid registry signatures fail; an unreachable signature service is unchecked', () => {
  assert.equal(signaturesVerdict(0, 'audited 480 packages in 3s\n480 packages have verified registry signatures').verdict, 'pass');
  assert.equal(signaturesVerdict(1, '1 package has an invalid registry signature:\nevil@1.0.0').verdict, 'fail');
  assert.equal(
    signaturesVerdict(1, 'npm error code ENOTFOUND\nnpm error network request to https://tuf-repo-cdn.sigstore.dev failed').verdict,
    'unchecked',
  );
});

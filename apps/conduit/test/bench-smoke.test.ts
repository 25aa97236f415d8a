import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QUICK } from '../../../scripts/bench/options.js';
import { formatReport } from '../../../scripts/bench/report.js';
import { benchBackend } from '../../../scripts/bench/runner.js';
import { SCENARIO_IDS, unexpectedErrors } from '../../../scripts/bench/scenarios.js';
import { BACKENDS } from 'bastion/testing';

// `npm run bench` keeps working: its whole machinery (seeding, the app and the baselines as
// separate processes behind the trusted loopback proxy, logins for tokens and sessions, every
// scenario, the memory phase, the report) runs for about a second per scenario, and every
// request gets the answer it should — none refused by the rate limit the bench must not trip,
// none failed; only the search flood may be refused 503 while the scan queue is full, as
// designed, and some of its searches are answered. Timings are not judged here: the machine is
// shared.

for (const backend of BACKENDS) {
  test(`[${backend}] the bench runs every scenario and every response is a success`, { timeout: 300_000 }, async () => {
    const report = await benchBackend(backend, {
      ...QUICK,
      backends: [backend],
      duration: 1,
      rounds: 2,
      connections: 10,
      seedUsers: 40,
      seedArticles: 200,
      memoryRequests: [300, 1_000],
      log: () => {},
    });
    assert.deepEqual(
      report.results.map((r) => r.scenario.id),
      [...SCENARIO_IDS],
      'every scenario ran, in order',
    );
    for (const { scenario, result, probe } of report.results) {
      assert.ok(result.requests > 0, `${scenario.id} got responses`);
      assert.equal(unexpectedErrors(scenario, result), 0, `${scenario.id}: ${JSON.stringify(result.statuses)}`);
      if (scenario.refusals) assert.ok(result.requests > result.errors, `${scenario.id}: some are answered`);
      if (probe) {
        assert.ok(probe.requests > 0, `${scenario.id} probe got responses`);
        assert.equal(probe.errors, 0, `${scenario.id} probe: ${JSON.stringify(probe.statuses)}`);
      }
    }
    assert.ok(report.memoryPhase && report.memoryPhase.result.requests >= 1_000, 'the memory phase ran');
    assert.equal(report.memoryPhase.result.errors, 0);
    assert.ok(report.peakRss > 0);
    assert.match(formatReport(report), /\| GET \/api\/articles\?limit=20 \|/, 'the report has the table');
  });
}

// How long one scan (Db.scan) may run. The matching is cheap per row, but a table has as many
// rows as anyone cared to write, and a search word can be made to cost the most on every row
// (a long word over bodies that almost match it everywhere): without a deadline a request's cost
// grows with the data, without bound. Past it, the scan is stopped where it is (SQLite: the
// reader thread abandons the statement at its next row, or is replaced; PostgreSQL: the server
// cancels the statement) and the request is answered 503, "took too long".
//
// 2 s is four times the slowest scan measured over 10,000 articles (PostgreSQL, 230–470 ms) and
// eight times an admin's filter over a million audit rows.
export const SCAN_TIMEOUT_MS = 2_000;

/** A scan stopped at its deadline. */
export class ScanTimeoutError extends Error {
  readonly code = 'SCAN_TIMEOUT';
  constructor(message = 'scan stopped at its deadline') {
    super(message);
    this.name = 'ScanTimeoutError';
  }
}

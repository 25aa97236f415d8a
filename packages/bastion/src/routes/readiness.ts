// The answer /readyz gives, worked out at most once per interval however often it is asked.
// A load balancer polls it, it is exempt from the request limits (a probe must never be
// refused), and each answer queries the database and Redis: without this, anyone could make
// every instance send two queries per request to its dependencies. Probes arriving while a
// check runs share that check instead of starting their own.

export type CheckState = 'ok' | 'failing';
export type Checks = Readonly<Record<string, CheckState>>;

export interface ReadinessProbeOptions {
  /** Runs every dependency check once. */
  readonly check: () => Promise<Checks>;
  /** How long one result answers every probe. */
  readonly intervalMs: number;
  readonly now?: () => number;
}

export function readinessProbe({ check, intervalMs, now = Date.now }: ReadinessProbeOptions): () => Promise<Checks> {
  let last: { at: number; checks: Checks } | null = null;
  let running: Promise<Checks> | null = null;
  return function readiness(): Promise<Checks> {
    if (last !== null && now() - last.at < intervalMs) return Promise.resolve(last.checks);
    running ??= check().then(
      (checks) => {
        last = { at: now(), checks };
        running = null;
        return checks;
      },
      (error: unknown) => {
        running = null;
        throw error;
      },
    );
    return running;
  };
}

import { AppError } from 'bastion';

/**
 * Runs a write limit (app.writeLimit) and returns its refusal instead of throwing it, so a form
 * can be shown again with the member's text kept and the 429's Retry-After; any other error is
 * thrown on.
 */
export async function refusedAsTooFast(check: () => Promise<void>): Promise<AppError | null> {
  try {
    await check();
    return null;
  } catch (err) {
    if (err instanceof AppError && err.code === 'RATE_LIMITED') return err;
    throw err;
  }
}

import { mock, type TestContext } from 'node:test';

// Plays out a race step by step instead of hoping for it: the next call of a method waits at a
// gate the test opens, so "this request is half-way through" is a state, not a timing.

/**
 * Holds the next call of `object[method]` until release(): a login paused at that point, exactly
 * where the race happens, with no timing involved. `started` resolves once the call is made.
 */
export function pauseNextCall<T extends object>(
  t: TestContext,
  object: T,
  method: keyof T & string,
): { started: Promise<void>; release: () => void } {
  const original = (object[method] as (...args: unknown[]) => Promise<unknown>).bind(object);
  let begun!: () => void;
  let release!: () => void;
  const started = new Promise<void>((resolve) => (begun = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  let paused = false;
  const spy = mock.method(object, method as never, async (...args: unknown[]) => {
    if (!paused) {
      paused = true;
      begun();
      await gate;
    }
    return original(...args);
  });
  t.after(() => spy.mock.restore());
  return { started, release };
}

import * as assert from 'node:assert/strict';

/**
 * Polls `check` every 20 ms until it holds; fails the test naming `what` after `ms` (a generous limit for a busy
 * machine, never a measurement).
 */
export async function until(check: () => boolean | Promise<boolean>, ms = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

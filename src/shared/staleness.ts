/**
 * How every view says a stream stopped being confirmed current (watch panel header, live folders, the Leases
 * view, the keep-alive status bar item): "stale since 14:03:07", local time of the last confirmation.
 */
export function staleSinceText(since: number): string {
  return `stale since ${new Date(since).toLocaleTimeString()}`;
}

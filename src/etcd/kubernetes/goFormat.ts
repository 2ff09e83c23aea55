/** Go's text forms of times and durations, as the API server prints them in JSON. */

function isoSeconds(seconds: number): string {
  // toISOString gives milliseconds; Kubernetes' Time prints whole seconds (time.RFC3339).
  return new Date(seconds * 1000).toISOString().slice(0, 19);
}

/** metav1.Time: RFC 3339 in UTC, whole seconds ("2025-12-01T00:00:00Z"). */
export function rfc3339(seconds: number): string {
  return `${isoSeconds(seconds)}Z`;
}

/** metav1.MicroTime: RFC 3339 in UTC with exactly six fractional digits ("2025-12-01T00:00:00.000000Z"). */
export function rfc3339Micro(seconds: number, nanos: number): string {
  return `${isoSeconds(seconds)}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z`;
}

function fraction(value: number, unit: number): string {
  const whole = Math.floor(value / unit);
  const rest = value % unit;
  if (rest === 0) return String(whole);
  const digits = String(unit).length - 1;
  return `${whole}.${String(rest).padStart(digits, '0').replace(/0+$/, '')}`;
}

/** metav1.Duration: Go's time.Duration.String() ("1h0m0s", "1m30s", "1.5s", "250ms", "0s"). */
export function goDuration(nanoseconds: number): string {
  if (nanoseconds === 0) return '0s';
  const sign = nanoseconds < 0 ? '-' : '';
  const ns = Math.abs(nanoseconds);
  if (ns < 1e3) return `${sign}${ns}ns`;
  if (ns < 1e6) return `${sign}${fraction(ns, 1e3)}µs`;
  if (ns < 1e9) return `${sign}${fraction(ns, 1e6)}ms`;
  const hours = Math.floor(ns / 3.6e12);
  const minutes = Math.floor((ns % 3.6e12) / 6e10);
  const seconds = fraction(ns % 6e10, 1e9);
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

const DURATION_UNITS: Record<string, number> = { h: 3.6e12, m: 6e10, s: 1e9, ms: 1e6, us: 1e3, µs: 1e3, ns: 1 };

/** Go's time.ParseDuration for the forms goDuration prints ("1h0m0s", "1.5s", "-250ms"). */
export function parseGoDuration(text: string): number {
  const m = /^([-+]?)((?:\d+(?:\.\d+)?(?:h|ms|us|µs|ns|m|s))+|0)$/.exec(text);
  if (!m) throw new Error(`not a Go duration: ${text}`);
  let total = 0;
  for (const part of m[2].matchAll(/(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)/g)) {
    total += Math.round(Number(part[1]) * DURATION_UNITS[part[2]]);
  }
  return m[1] === '-' ? -total : total;
}

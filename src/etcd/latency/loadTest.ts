import { randomBytes } from 'node:crypto';
import { EtcdConnection } from '../connection';
import { EtcdExplorerError, errorText } from '../errors';
import { prefixEnd } from '../keyCodec';
import { LatencyStats, ProbeSample, computeStats } from './latency';

export type LoadLevel = 's' | 'm' | 'l';

export interface LoadSpec {
  /** Puts in flight at once. */
  readonly clients: number;
  readonly totalOps: number;
  readonly valueBytes: number;
  /** Cap on puts per second (etcdctl check perf's rate limiter); absent: as fast as the clients go. */
  readonly ratePerSecond?: number;
}

/**
 * etcdctl check perf's loads (s: 150 writes/s, 50 clients; m: 1000/s, 200; l: 8000/s, 500; 1 KiB values) with
 * its rate caps and concurrency kept, but a fixed number of writes instead of 60 s: a minute of writes holds
 * the panel hostage and (for l) leaves hundreds of MB of history that only a compaction — never done without
 * consent — gives back. s and m run 10 s at their rate. l is sized for what a small cluster really does: one
 * Node client on a 2-core machine did ~3,600 puts/s idle (~8 s) and 800–1,600/s while other jobs loaded it
 * (20–37 s); a cluster that reaches 8000/s finishes in 4 s.
 */
export const LOAD_LEVELS: Record<LoadLevel, LoadSpec & { readonly label: string }> = {
  s: {
    label: 'Small: 1,500 writes, ≤150/s, 50 clients, 1 KiB values (~10 s)',
    clients: 50,
    totalOps: 1_500,
    valueBytes: 1024,
    ratePerSecond: 150,
  },
  m: {
    label: 'Medium: 10,000 writes, ≤1,000/s, 200 clients, 1 KiB values (~10 s)',
    clients: 200,
    totalOps: 10_000,
    valueBytes: 1024,
    ratePerSecond: 1000,
  },
  l: {
    label: 'Large: 30,000 writes, ≤8,000/s, 500 clients, 1 KiB values (4–20 s)',
    clients: 500,
    totalOps: 30_000,
    valueBytes: 1024,
    ratePerSecond: 8000,
  },
};

export interface LoadProgress {
  readonly done: number;
  readonly total: number;
  readonly errors: number;
}

export interface LoadTestResult {
  readonly written: number;
  readonly errors: number;
  readonly seconds: number;
  readonly opsPerSecond: number;
  readonly latency: LatencyStats;
  readonly cleanedUp: number;
  readonly cancelled: boolean;
  /** The run's own prefix (relative to the namespace), `${options.prefix}<run id>/`. */
  readonly prefix: string;
  /** Set when the run gave up before its total because writes kept failing (cluster down, NOSPACE...). */
  readonly stoppedEarly?: string;
}

const MAX_CLIENTS = 1000;
const MAX_OPS = 1_000_000;
const MAX_VALUE_BYTES = 1024 * 1024;
/** This many failures in a row end the run: the cluster is not taking writes, more would only add noise. */
const GIVE_UP_AFTER_FAILURES = 20;
const PROGRESS_EVERY_MS = 100;
const CLEANUP_ATTEMPTS = 3;

function checkSpec(spec: LoadSpec, prefix: string): void {
  const bad = (message: string) => new EtcdExplorerError('invalid', message);
  if (!Number.isInteger(spec.clients) || spec.clients < 1 || spec.clients > MAX_CLIENTS)
    throw bad(`A load test needs 1 to ${MAX_CLIENTS} clients, not ${spec.clients}.`);
  if (!Number.isInteger(spec.totalOps) || spec.totalOps < 1 || spec.totalOps > MAX_OPS)
    throw bad(`A load test writes 1 to ${MAX_OPS} keys, not ${spec.totalOps}.`);
  if (!Number.isInteger(spec.valueBytes) || spec.valueBytes < 0 || spec.valueBytes > MAX_VALUE_BYTES)
    throw bad(`Load-test values must be 0 to ${MAX_VALUE_BYTES} bytes, not ${spec.valueBytes}.`);
  if (spec.ratePerSecond !== undefined && !(spec.ratePerSecond > 0 && Number.isFinite(spec.ratePerSecond)))
    throw bad(`The load-test rate must be a positive number of writes per second, not ${spec.ratePerSecond}.`);
  if (!prefix) throw bad('A load test needs a scratch prefix to write under (never the root of the keyspace).');
}

/**
 * A write load like `etcdctl check perf`: `spec.clients` puts in flight, optionally rate-limited, each to a new
 * key under `${prefix}<run id>/`. Cancelling stops new puts; the ones in flight are let finish (not abandoned:
 * a put abandoned client-side can still land after the cleanup). Then everything under the run prefix is
 * deleted — also after a cancel or errors. Never compacts.
 */
export async function runLoadTest(
  conn: EtcdConnection,
  spec: LoadSpec,
  options: {
    prefix: string;
    signal?: AbortSignal;
    onProgress?: (p: LoadProgress) => void;
    onSample?: (s: ProbeSample) => void;
  },
): Promise<LoadTestResult> {
  checkSpec(spec, options.prefix);
  conn.assertWritable('run a load test');
  const prefix = `${options.prefix}${Date.now().toString(36)}-${randomBytes(4).toString('hex')}/`;
  const absPrefix = conn.absoluteKey(Buffer.from(prefix));
  const value = Buffer.alloc(spec.valueBytes, 'x');
  const signal = options.signal;
  const okMs: number[] = [];
  let next = 0;
  let done = 0;
  let errors = 0;
  let timeouts = 0;
  let failuresInARow = 0;
  let stoppedEarly: string | undefined;
  let lastProgress = 0;
  const report = (force: boolean) => {
    const now = performance.now();
    if (!options.onProgress || (!force && now - lastProgress < PROGRESS_EVERY_MS)) return;
    lastProgress = now;
    options.onProgress({ done, total: spec.totalOps, errors });
  };

  const started = performance.now();
  const worker = async () => {
    for (;;) {
      if (signal?.aborted || stoppedEarly) return;
      const i = next++;
      if (i >= spec.totalOps) return;
      if (spec.ratePerSecond) {
        const wait = started + (i * 1000) / spec.ratePerSecond - performance.now();
        if (wait > 0 && !(await sleep(wait, signal))) return;
      }
      const key = Buffer.concat([absPrefix, Buffer.from(String(i))]);
      const at = Date.now();
      const t0 = performance.now();
      try {
        await conn.write('write load-test keys', (c) => c.kv.put({ key, value }));
        const ms = performance.now() - t0;
        okMs.push(ms);
        failuresInARow = 0;
        options.onSample?.({ at, endpoint: '(load test)', op: 'put', ms, outcome: 'ok' });
      } catch (err) {
        const ms = performance.now() - t0;
        const timeout = err instanceof EtcdExplorerError && err.kind === 'timeout';
        errors++;
        if (timeout) timeouts++;
        const message = errorText(err);
        options.onSample?.({
          at,
          endpoint: '(load test)',
          op: 'put',
          ms,
          outcome: timeout ? 'timeout' : 'error',
          error: message,
        });
        if (++failuresInARow >= GIVE_UP_AFTER_FAILURES)
          stoppedEarly ??= `${GIVE_UP_AFTER_FAILURES} writes failed in a row; last: ${message}`;
      }
      done++;
      report(false);
    }
  };
  await Promise.all(Array.from({ length: Math.min(spec.clients, spec.totalOps) }, worker));
  const seconds = (performance.now() - started) / 1000;
  report(true);

  const cleanedUp = await deleteRun(conn, absPrefix, prefix);
  return {
    written: okMs.length,
    errors,
    seconds,
    opsPerSecond: seconds > 0 ? okMs.length / seconds : 0,
    latency: computeStats(okMs, errors - timeouts, timeouts),
    cleanedUp,
    cancelled: signal?.aborted === true,
    prefix,
    ...(stoppedEarly ? { stoppedEarly } : {}),
  };
}

/**
 * Deletes everything under the run's prefix (unique to this run, so nothing else is there). Checks the prefix is
 * empty afterwards and deletes again: a put that timed out on our side may still be applied late.
 */
async function deleteRun(conn: EtcdConnection, absPrefix: Buffer, prefix: string): Promise<number> {
  const rangeEnd = prefixEnd(absPrefix);
  let deleted = 0;
  let lastError: unknown;
  for (let attempt = 0; attempt < CLEANUP_ATTEMPTS; attempt++) {
    if (attempt > 0) await sleep(200 * attempt);
    try {
      const res = await conn.write('delete load-test keys', (c) =>
        c.kv.deleteRange({ key: absPrefix, range_end: rangeEnd }),
      );
      deleted += Number(res.deleted);
      const left = await conn.call('count load-test keys', (c) =>
        c.kv.range({ key: absPrefix, range_end: rangeEnd, count_only: true }),
      );
      if (Number(left.count) === 0) return deleted;
    } catch (err) {
      lastError = err;
    }
  }
  const why = lastError instanceof Error ? ` (${lastError.message})` : '';
  throw new EtcdExplorerError(
    lastError instanceof EtcdExplorerError ? lastError.kind : 'unknown',
    `The load test could not delete its keys under "${prefix}"${why}. Delete that prefix once the cluster answers.`,
  );
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

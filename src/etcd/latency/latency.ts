import { randomBytes } from 'node:crypto';
import { MemberClients } from '../cluster';
import { EtcdConnection } from '../connection';
import { EtcdErrorKind, EtcdExplorerError, errorText } from '../errors';
import { Emitter, Event } from '../events';
import { sampleQuantile } from '../metrics';

export type ProbeOp = 'rangeSerializable' | 'rangeLinearizable' | 'putDelete' | 'status';

export const PROBE_OPS: readonly ProbeOp[] = ['rangeSerializable', 'rangeLinearizable', 'putDelete', 'status'];

export interface ProbeSample {
  readonly at: number;
  readonly endpoint: string;
  readonly op: string;
  readonly ms: number;
  readonly outcome: 'ok' | 'error' | 'timeout';
  readonly error?: string;
}

/**
 * Milliseconds. Quantiles, max and mean are over the successful samples only (a failed call's duration says
 * how fast it failed, not how fast etcd answers); `count` is their number. NaN when count is 0.
 */
export interface LatencyStats {
  readonly count: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Log-spaced ms bucket upper bounds and counts per bucket (one more count than bounds: the overflow). */
export interface LatencyHistogram {
  readonly bounds: number[];
  readonly counts: number[];
}

/** 1-2-5 steps from 0.1 ms to 10 s: log-spaced yet readable on an axis. */
export const HISTOGRAM_BOUNDS_MS: readonly number[] = [
  0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000,
];

const DEFAULT_MAX_SAMPLES = 10_000;
const MIN_INTERVAL_MS = 10;

/** Stats of successful durations plus failure counts (shared by the probes, the recorder and the load test). */
export function computeStats(okMs: readonly number[], errors: number, timeouts: number): LatencyStats {
  const sorted = [...okMs].sort((a, b) => a - b);
  const count = sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count,
    errors,
    timeouts,
    p50: sampleQuantile(sorted, 0.5),
    p95: sampleQuantile(sorted, 0.95),
    p99: sampleQuantile(sorted, 0.99),
    max: count ? sorted[count - 1] : NaN,
    mean: count ? sum / count : NaN,
  };
}

/** Counts durations into {@link HISTOGRAM_BOUNDS_MS} buckets (upper bounds inclusive). */
export function bucketize(okMs: Iterable<number>): LatencyHistogram {
  const bounds = [...HISTOGRAM_BOUNDS_MS];
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (const ms of okMs) {
    let i = 0;
    while (i < bounds.length && ms > bounds[i]) i++;
    counts[i]++;
  }
  return { bounds, counts };
}

/**
 * Rolling window of samples, bounded by time (`windowMs`) and by memory (`maxSamples`, oldest dropped first),
 * so a probe left open for days, or a fast load, holds a fixed amount.
 */
export class RollingWindow {
  private samples: ProbeSample[] = [];
  private head = 0;

  constructor(
    readonly windowMs: number,
    readonly maxSamples = DEFAULT_MAX_SAMPLES,
  ) {
    if (!(windowMs > 0) || !Number.isFinite(windowMs))
      throw new EtcdExplorerError(
        'invalid',
        `The latency window must be a positive number of milliseconds, not ${windowMs}.`,
      );
    if (!Number.isInteger(maxSamples) || maxSamples < 1)
      throw new EtcdExplorerError('invalid', `The latency window must hold at least one sample, not ${maxSamples}.`);
  }

  /** Samples currently held (after the memory bound; expired ones go at the next stats/histogram/add). */
  get size(): number {
    return this.samples.length - this.head;
  }

  add(sample: ProbeSample): void {
    this.samples.push(sample);
    if (this.size > this.maxSamples) this.head += this.size - this.maxSamples;
    this.prune(sample.at);
  }

  stats(now = Date.now()): LatencyStats {
    const live = this.live(now);
    let errors = 0;
    let timeouts = 0;
    const ok: number[] = [];
    for (const s of live) {
      if (s.outcome === 'ok') ok.push(s.ms);
      else if (s.outcome === 'timeout') timeouts++;
      else errors++;
    }
    return computeStats(ok, errors, timeouts);
  }

  histogram(now = Date.now()): LatencyHistogram {
    return bucketize(
      this.live(now)
        .filter((s) => s.outcome === 'ok')
        .map((s) => s.ms),
    );
  }

  private live(now: number): ProbeSample[] {
    this.prune(now);
    const cutoff = now - this.windowMs;
    // Samples are appended in time order, but tolerate a slightly late one.
    return this.samples.slice(this.head).filter((s) => s.at > cutoff && s.at <= now);
  }

  private prune(now: number): void {
    const cutoff = now - this.windowMs;
    while (this.head < this.samples.length && this.samples[this.head].at <= cutoff) this.head++;
    // Compact lazily so add() stays O(1) amortized.
    if (this.head > 64 && this.head * 2 > this.samples.length) {
      this.samples = this.samples.slice(this.head);
      this.head = 0;
    }
  }
}

export interface ProbeOptions {
  readonly endpoints: string[];
  readonly intervalMs: number;
  readonly windowMs: number;
  /** Keys written by putDelete live under this prefix (relative to the profile's namespace). */
  readonly probePrefix: string;
  readonly ops?: ProbeOp[];
}

/** A deadline hit is counted apart from other failures: it says slow or unreachable, not rejected. */
function failureOutcome(kind: EtcdErrorKind | undefined): 'error' | 'timeout' {
  return kind === 'timeout' ? 'timeout' : 'error';
}

function outcomeOf(err: unknown): { outcome: 'error' | 'timeout'; error: string } {
  if (err instanceof EtcdExplorerError) return { outcome: failureOutcome(err.kind), error: err.message };
  return { outcome: 'error', error: errorText(err) };
}

interface Sleeper {
  timer: NodeJS.Timeout;
  wake(): void;
}

/**
 * Client-side probes, one loop per member through that member's own client (so a sample is about that member,
 * not whichever host etcd3 picked). Each round runs the ops one after another; the next round starts an
 * interval after this one began, or right after it ends when it overran: never two in flight per member, so a
 * slow or dead member gets one request at a time, not a pile-up. Only the request itself is timed.
 */
export class LatencyProbe {
  private readonly emitter = new Emitter<ProbeSample>();
  private readonly windows = new Map<string, RollingWindow>();
  private readonly ops: ProbeOp[];
  private readonly runId = randomBytes(4).toString('hex');
  /** Probe keys a put may have reached without the matching delete: the only keys stop() deletes. */
  private readonly dirty = new Set<string>();
  private readonly sleepers = new Set<Sleeper>();
  private loops: Promise<void>[] = [];
  private running = false;
  /** Bumped by start/stop, so a loop from before a stop() never continues after a quick restart. */
  private generation = 0;
  private intervalMs: number;

  readonly onSample: Event<ProbeSample> = this.emitter.event;

  constructor(
    private readonly conn: EtcdConnection,
    private readonly clients: MemberClients,
    private readonly options: ProbeOptions,
  ) {
    if (options.endpoints.length === 0)
      throw new EtcdExplorerError('invalid', 'Latency probes need at least one endpoint.');
    checkInterval(options.intervalMs);
    new RollingWindow(options.windowMs); // validates the window
    const ops = options.ops ?? [...PROBE_OPS];
    const unknown = ops.filter((op) => !PROBE_OPS.includes(op));
    if (unknown.length)
      throw new EtcdExplorerError(
        'invalid',
        `Unknown latency probe "${unknown[0]}". Use one of ${PROBE_OPS.join(', ')}.`,
      );
    if (ops.includes('putDelete') && !conn.readOnly && !options.probePrefix) {
      throw new EtcdExplorerError(
        'invalid',
        'The Put + Delete probe needs a key prefix to write under (it must not write at the root of the keyspace).',
      );
    }
    this.ops = ops;
    this.intervalMs = options.intervalMs;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const generation = ++this.generation;
    this.loops = this.options.endpoints.map((endpoint) => this.loop(endpoint, generation));
  }

  /** Ends the loops, waits for the requests in flight, then deletes probe keys that a put may have left. */
  async stop(): Promise<void> {
    this.running = false;
    this.generation++;
    const loops = this.loops;
    this.loops = [];
    for (const s of [...this.sleepers]) s.wake();
    await Promise.all(loops);
    for (const key of [...this.dirty]) {
      try {
        await this.conn.write('delete a latency probe key', (c) =>
          c.kv.deleteRange({ key: Buffer.from(key, 'latin1') }),
        );
        this.dirty.delete(key);
      } catch {
        // Left for the next stop(); the key is tiny and under the probe prefix.
      }
    }
  }

  setInterval(ms: number): void {
    checkInterval(ms);
    this.intervalMs = ms;
    for (const s of [...this.sleepers]) s.wake();
  }

  /** The absolute key putDelete writes for `endpoint` (also the key the range probes read). */
  probeKey(endpoint: string): Buffer {
    const index = this.options.endpoints.indexOf(endpoint);
    return this.conn.absoluteKey(Buffer.from(`${this.options.probePrefix}${this.runId}-${index}`));
  }

  /** Runs one op against one member, records it in the window and fires {@link onSample}. Never throws for a failed request. */
  async probeOnce(endpoint: string, op: ProbeOp): Promise<ProbeSample> {
    if (!this.options.endpoints.includes(endpoint))
      throw new EtcdExplorerError('invalid', `${endpoint} is not one of the probed endpoints.`);
    if (!PROBE_OPS.includes(op)) throw new EtcdExplorerError('invalid', `Unknown latency probe "${op}".`);
    if (op === 'putDelete') this.conn.assertWritable('run the Put + Delete latency probe');
    const member = this.clients.for(endpoint);
    const key = this.probeKey(endpoint);
    const at = Date.now();
    let started = performance.now();
    let ms = NaN;
    let sample: ProbeSample;
    const timed = async <T>(request: () => Promise<T>): Promise<T> => {
      started = performance.now();
      const result = await request();
      ms = performance.now() - started;
      return result;
    };
    try {
      switch (op) {
        case 'rangeSerializable':
          await member.call('probe a serializable range', (c) => timed(() => c.kv.range({ key, serializable: true })));
          break;
        case 'rangeLinearizable':
          await member.call('probe a linearizable range', (c) => timed(() => c.kv.range({ key })));
          break;
        case 'putDelete': {
          const id = key.toString('latin1');
          this.dirty.add(id);
          await member.write('probe a put and delete', (c) =>
            timed(async () => {
              await c.kv.put({ key, value: Buffer.from(String(at)) });
              await c.kv.deleteRange({ key });
            }),
          );
          this.dirty.delete(id);
          break;
        }
        case 'status':
          await member.call('probe the status', (c) => timed(() => c.maintenance.status()));
          break;
      }
      sample = { at, endpoint, op, ms, outcome: 'ok' };
    } catch (err) {
      sample = { at, endpoint, op, ms: performance.now() - started, ...outcomeOf(err) };
    }
    this.window(endpoint, op).add(sample);
    this.emitter.fire(sample);
    return sample;
  }

  stats(endpoint: string, op: ProbeOp): LatencyStats {
    return this.window(endpoint, op).stats();
  }

  histogram(endpoint: string, op: ProbeOp): LatencyHistogram {
    return this.window(endpoint, op).histogram();
  }

  /** Ops a round runs: putDelete is left out on a read-only connection (not an error: nothing may be written). */
  get activeOps(): ProbeOp[] {
    return this.ops.filter((op) => op !== 'putDelete' || !this.conn.readOnly);
  }

  private window(endpoint: string, op: string): RollingWindow {
    const id = `${endpoint}\n${op}`;
    let w = this.windows.get(id);
    if (!w) {
      w = new RollingWindow(this.options.windowMs);
      this.windows.set(id, w);
    }
    return w;
  }

  private async loop(endpoint: string, generation: number): Promise<void> {
    const live = () => this.generation === generation;
    while (live()) {
      const roundStart = performance.now();
      for (const op of this.activeOps) {
        if (!live()) return;
        await this.probeOnce(endpoint, op);
      }
      while (live()) {
        const remaining = roundStart + this.intervalMs - performance.now();
        if (remaining <= 0) break;
        await this.sleep(remaining);
      }
    }
  }

  /** A timer that stop() and setInterval() can cut short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        timer: setTimeout(() => sleeper.wake(), ms),
        wake: () => {
          clearTimeout(sleeper.timer);
          this.sleepers.delete(sleeper);
          resolve();
        },
      };
      this.sleepers.add(sleeper);
    });
  }
}

function checkInterval(ms: number): void {
  if (!Number.isFinite(ms) || ms < MIN_INTERVAL_MS) {
    throw new EtcdExplorerError('invalid', `The probe interval must be at least ${MIN_INTERVAL_MS} ms, not ${ms}.`);
  }
}

/**
 * Multi-word operation phrases of the core's `call`/`write` sites, mapped to their type. Anything else is typed by
 * its first word: what follows is usually a key, and keys need not start with "/" ("save config").
 */
const OPERATION_TYPES: ReadonlyArray<[string, string]> = [
  ['list keys', 'list keys'],
  ['list members', 'list members'],
  ['list leases', 'list leases'],
  ['list alarms', 'list alarms'],
  ['count keys', 'count keys'],
  ['search keys', 'search keys'],
  ['check folder', 'check folder'],
  ['read the status', 'status'],
  ['read the revision', 'read revision'],
  ['read key metadata', 'read metadata'],
  ['read locks', 'read locks'],
  ['read lease', 'read lease'],
  ['save a snapshot', 'snapshot'],
  ['preview delete', 'preview delete'],
  ['inspect lease', 'inspect lease'],
  ['revoke lease', 'revoke lease'],
  ['keep lease', 'keep-alive'],
  ['grant a', 'grant lease'],
  ['disarm an alarm', 'disarm alarm'],
  ['find the compaction revision', 'find compaction'],
  ['compute HashKV', 'hashkv'],
  ['write load-test keys', 'load test'],
  ['delete load-test keys', 'load test cleanup'],
  ['count load-test keys', 'load test cleanup'],
];

/**
 * The type of an operation phrase ("save /app/x" → "save", "list /a at revision 5" → "list"), so keys, revisions
 * and ids do not make one series per call.
 */
export function operationType(operation: string): string {
  const lower = operation.trim().toLowerCase();
  for (const [phrase, type] of OPERATION_TYPES) {
    const p = phrase.toLowerCase();
    if (lower === p || lower.startsWith(`${p} `)) return type;
  }
  const first = lower.split(/\s+/)[0];
  return /^[a-z][a-z-]*$/.test(first) ? first : 'other';
}

/** Latency of the extension's own calls (conn.onDidCall), by operation type. */
export class OperationRecorder {
  private readonly emitter = new Emitter<ProbeSample>();
  private readonly windows = new Map<string, RollingWindow>();
  private readonly subscription: { dispose(): void };

  readonly onSample: Event<ProbeSample> = this.emitter.event;

  constructor(
    conn: EtcdConnection,
    private readonly windowMs: number,
  ) {
    new RollingWindow(windowMs); // validates
    this.subscription = conn.onDidCall((call) => {
      const op = operationType(call.operation);
      const outcome = call.ok ? 'ok' : failureOutcome(call.errorKind);
      const sample: ProbeSample = { at: Date.now(), endpoint: '(client)', op, ms: call.ms, outcome };
      let w = this.windows.get(op);
      if (!w) this.windows.set(op, (w = new RollingWindow(this.windowMs)));
      w.add(sample);
      this.emitter.fire(sample);
    });
  }

  stats(): Map<string, LatencyStats> {
    const now = Date.now();
    return new Map([...this.windows].map(([op, w]) => [op, w.stats(now)]));
  }

  histogram(op: string): LatencyHistogram {
    return this.windows.get(op)?.histogram() ?? bucketize([]);
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}

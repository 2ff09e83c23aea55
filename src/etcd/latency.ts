import { randomBytes } from 'node:crypto';
import { MemberClients } from './cluster';
import { EtcdConnection } from './connection';
import { EtcdExplorerError } from './errors';
import { Emitter, Event } from './events';
import { Histogram, MetricFamily, ScrapeTls, histogramQuantile, histograms, mergeHistograms, parsePrometheusText, sampleQuantile, scrapeMetrics } from './metrics';

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
export const HISTOGRAM_BOUNDS_MS: readonly number[] = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

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
    if (!(windowMs > 0) || !Number.isFinite(windowMs)) throw new EtcdExplorerError('invalid', `The latency window must be a positive number of milliseconds, not ${windowMs}.`);
    if (!Number.isInteger(maxSamples) || maxSamples < 1) throw new EtcdExplorerError('invalid', `The latency window must hold at least one sample, not ${maxSamples}.`);
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
    return bucketize(this.live(now).filter((s) => s.outcome === 'ok').map((s) => s.ms));
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

function outcomeOf(err: unknown): { outcome: 'error' | 'timeout'; error: string } {
  if (err instanceof EtcdExplorerError) return { outcome: err.kind === 'timeout' ? 'timeout' : 'error', error: err.message };
  return { outcome: 'error', error: err instanceof Error ? err.message : String(err) };
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
    if (options.endpoints.length === 0) throw new EtcdExplorerError('invalid', 'Latency probes need at least one endpoint.');
    checkInterval(options.intervalMs);
    new RollingWindow(options.windowMs); // validates the window
    const ops = options.ops ?? [...PROBE_OPS];
    const unknown = ops.filter((op) => !PROBE_OPS.includes(op));
    if (unknown.length) throw new EtcdExplorerError('invalid', `Unknown latency probe "${unknown[0]}". Use one of ${PROBE_OPS.join(', ')}.`);
    if (ops.includes('putDelete') && !conn.readOnly && !options.probePrefix) {
      throw new EtcdExplorerError('invalid', 'The Put + Delete probe needs a key prefix to write under (it must not write at the root of the keyspace).');
    }
    this.ops = ops;
    this.intervalMs = options.intervalMs;
  }

  get isRunning(): boolean {
    return this.running;
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
        await this.conn.write('delete a latency probe key', (c) => c.kv.deleteRange({ key: Buffer.from(key, 'latin1') }));
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

  get interval(): number {
    return this.intervalMs;
  }

  /** The absolute key putDelete writes for `endpoint` (also the key the range probes read). */
  probeKey(endpoint: string): Buffer {
    const index = this.options.endpoints.indexOf(endpoint);
    return this.conn.absoluteKey(Buffer.from(`${this.options.probePrefix}${this.runId}-${index}`));
  }

  /** Runs one op against one member, records it in the window and fires {@link onSample}. Never throws for a failed request. */
  async probeOnce(endpoint: string, op: ProbeOp): Promise<ProbeSample> {
    if (!this.options.endpoints.includes(endpoint)) throw new EtcdExplorerError('invalid', `${endpoint} is not one of the probed endpoints.`);
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
      // CallSample says ok or not; a timeout is not told apart from other failures.
      const sample: ProbeSample = { at: Date.now(), endpoint: '(client)', op, ms: call.ms, outcome: call.ok ? 'ok' : 'error' };
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

export interface ServerMetricsPoint {
  readonly at: number;
  readonly endpoint: string;
  readonly ok: boolean;
  readonly error?: string;
  /**
   * Series name → value, e.g. 'wal_fsync_p99_ms', 'backend_commit_p99_ms', 'peer_rtt_p99_ms', 'proposals_committed_per_s',
   * 'proposals_applied_per_s', 'proposals_pending', 'proposals_failed_per_s', 'leader_changes', 'db_size_bytes',
   * 'db_size_in_use_bytes', 'grpc_<Method>_per_s', 'grpc_<Method>_p99_ms' (when histograms exist), p50/p90 too.
   * A series without data in the interval (no fsync happened, first scrape for rates) is absent, not 0.
   */
  readonly values: Record<string, number>;
}

type Buckets = ReadonlyArray<{ le: number; count: number }>;

/** What one scrape says, reduced to the series we plot: cumulative counters, gauges, cumulative histograms. */
export interface MetricsSnapshot {
  readonly at: number;
  readonly counters: Readonly<Record<string, number>>;
  readonly gauges: Readonly<Record<string, number>>;
  /** Cumulative buckets, `le` in seconds. */
  readonly histograms: Readonly<Record<string, Buckets>>;
}

const HISTOGRAM_FAMILIES: ReadonlyArray<[string, string]> = [
  ['etcd_disk_wal_fsync_duration_seconds', 'wal_fsync'],
  ['etcd_disk_backend_commit_duration_seconds', 'backend_commit'],
  ['etcd_network_peer_round_trip_time_seconds', 'peer_rtt'],
];
// etcd 3.4 types committed/applied as gauges, but they only grow: plotted as rates.
const COUNTER_FAMILIES: ReadonlyArray<[string, string]> = [
  ['etcd_server_proposals_committed_total', 'proposals_committed'],
  ['etcd_server_proposals_applied_total', 'proposals_applied'],
  ['etcd_server_proposals_failed_total', 'proposals_failed'],
  ['etcd_server_leader_changes_seen_total', 'leader_changes'],
];
const GAUGE_FAMILIES: ReadonlyArray<[string, string]> = [
  ['etcd_server_proposals_pending', 'proposals_pending'],
  ['etcd_mvcc_db_total_size_in_bytes', 'db_size_bytes'],
  ['etcd_mvcc_db_total_size_in_use_in_bytes', 'db_size_in_use_bytes'],
  ['etcd_server_has_leader', 'has_leader'],
  ['etcd_server_is_leader', 'is_leader'],
];
/** Counter totals that are worth showing as they are (a leader change count is read as a number, not a rate). */
const SHOWN_TOTALS = ['leader_changes'];
const QUANTILES: ReadonlyArray<[number, string]> = [
  [0.5, 'p50'],
  [0.9, 'p90'],
  [0.99, 'p99'],
];

function sumSamples(family: MetricFamily | undefined): number | undefined {
  if (!family || family.samples.length === 0) return undefined;
  return family.samples.reduce((n, s) => n + s.value, 0);
}

/** Reduces a parsed /metrics page to a {@link MetricsSnapshot}. gRPC series are per method, summed over codes. */
export function metricsSnapshot(families: Map<string, MetricFamily>, at: number): MetricsSnapshot {
  const counters: Record<string, number> = {};
  const gauges: Record<string, number> = {};
  const hists: Record<string, Buckets> = {};
  for (const [family, name] of COUNTER_FAMILIES) {
    const v = sumSamples(families.get(family));
    if (v !== undefined) counters[name] = v;
  }
  for (const [family, name] of GAUGE_FAMILIES) {
    const v = sumSamples(families.get(family));
    if (v !== undefined) gauges[name] = v;
  }
  for (const [family, name] of HISTOGRAM_FAMILIES) {
    const merged = mergeHistograms(histograms(families.get(family)));
    if (merged) hists[name] = merged.buckets;
  }
  for (const s of families.get('grpc_server_handled_total')?.samples ?? []) {
    const method = s.labels.grpc_method;
    if (!method) continue;
    counters[`grpc_${method}`] = (counters[`grpc_${method}`] ?? 0) + s.value;
    if (s.labels.grpc_code !== 'OK') counters[`grpc_${method}_errors`] = (counters[`grpc_${method}_errors`] ?? 0) + s.value;
  }
  // Only with --metrics=extensive.
  const byMethod = new Map<string, Histogram[]>();
  for (const h of histograms(families.get('grpc_server_handling_seconds'))) {
    const method = h.labels.grpc_method;
    if (method) byMethod.set(method, [...(byMethod.get(method) ?? []), h]);
  }
  for (const [method, list] of byMethod) {
    const merged = mergeHistograms(list);
    if (merged) hists[`grpc_${method}`] = merged.buckets;
  }
  return { at, counters, gauges, histograms: hists };
}

/** Counter increase since `previous`; a drop means the member restarted, so the whole current value is new. */
function counterDelta(current: number, previous: number | undefined): number {
  return previous === undefined || current < previous ? current : current - previous;
}

/** Bucket deltas since `previous`, or the cumulative buckets on a first scrape, a reset or changed bounds. */
function histogramDelta(current: Buckets, previous: Buckets | undefined): Buckets {
  if (!previous || previous.length !== current.length) return current;
  const reset = current.some((b, i) => b.le !== previous[i].le || b.count < previous[i].count);
  return reset ? current : current.map((b, i) => ({ le: b.le, count: b.count - previous[i].count }));
}

/**
 * The plotted values for one scrape: gauges as they are; counters as per-second rates over the time since
 * `previous` (none on the first scrape); histogram quantiles (ms) over the observations since `previous`, or
 * over everything since the member started on the first scrape. Counter resets count from zero.
 */
export function serverSeries(current: MetricsSnapshot, previous?: MetricsSnapshot): Record<string, number> {
  const values: Record<string, number> = { ...current.gauges };
  for (const name of SHOWN_TOTALS) if (current.counters[name] !== undefined) values[name] = current.counters[name];
  const seconds = previous ? (current.at - previous.at) / 1000 : 0;
  if (previous && seconds > 0) {
    for (const [name, total] of Object.entries(current.counters)) {
      // Methods nobody called stay out of the chart (etcd pre-registers every method × code).
      if (name.startsWith('grpc_') && total === 0) continue;
      values[`${name}_per_s`] = counterDelta(total, previous.counters[name]) / seconds;
    }
  }
  for (const [name, buckets] of Object.entries(current.histograms)) {
    const delta = histogramDelta(buckets, previous?.histograms[name]);
    const count = delta.length ? delta[delta.length - 1].count : 0;
    if (previous && seconds > 0 && !name.startsWith('grpc_')) values[`${name}_per_s`] = count / seconds;
    if (count === 0) continue;
    for (const [q, label] of QUANTILES) values[`${name}_${label}_ms`] = histogramQuantile(q, delta) * 1000;
  }
  return values;
}

/**
 * Scrapes members' /metrics (client URL; TLS aware — etcd serves /metrics without RBAC, so no credentials are
 * sent) and turns each into a {@link ServerMetricsPoint}. Remembers each member's previous scrape for rates.
 */
export class ServerMetricsSampler {
  private readonly previous = new Map<string, MetricsSnapshot>();

  constructor(private readonly options: { timeoutMs: number; tls?: ScrapeTls }) {}

  async sample(endpoints: readonly string[]): Promise<ServerMetricsPoint[]> {
    return Promise.all(
      endpoints.map(async (endpoint): Promise<ServerMetricsPoint> => {
        try {
          const text = await scrapeMetrics(endpoint, this.options);
          const at = Date.now();
          const snapshot = metricsSnapshot(parsePrometheusText(text), at);
          const values = serverSeries(snapshot, this.previous.get(endpoint));
          this.previous.set(endpoint, snapshot);
          return { at, endpoint, ok: true, values };
        } catch (err) {
          // The previous snapshot stays: the next good scrape gives rates over the whole gap.
          return { at: Date.now(), endpoint, ok: false, error: err instanceof Error ? err.message : String(err), values: {} };
        }
      }),
    );
  }

  /** Forgets previous scrapes (e.g. after the endpoint list changed). */
  reset(): void {
    this.previous.clear();
  }
}

import type { Etcd3, IKeyValue, IRangeRequest, IRangeResponse } from 'etcd3';
import { EtcdConnection } from '../connection';
import { EtcdExplorerError, cancelledError } from '../errors';
import { RangePath, ServerCapabilities, rangePath } from './capabilities';
import { Bound } from './partition';

/** What one range request answered. */
export interface RangeAnswer {
  readonly kvs: IKeyValue[];
  /** Keys in the whole range (what the server visited to answer, whatever the limit). */
  readonly count: number;
  readonly more: boolean;
  /** Revision the answer was read at. */
  readonly revision?: string;
}

export interface RangeRequest {
  /** Keys returned at most (0: all). */
  readonly limit: number;
  /** Values too (export); listings and counts never read values. */
  readonly values?: boolean;
  readonly countOnly?: boolean;
}

/** One range of a {@link RangeReader.batch}. */
export interface RangeSpec {
  readonly from: Buffer;
  readonly to: Bound;
  readonly request: RangeRequest;
}

/** Range operations per Txn (etcd's default --max-txn-ops); halved when a server allows fewer. */
export const BATCH_OPS = 128;

export interface ReaderOptions {
  /** Pin every request to this revision; otherwise the first answer's revision pins the rest. */
  readonly revision?: string;
  /** Requests in flight at once (default 8). */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /** Operation name for error messages ("list keys" → "Could not list keys: …"). */
  readonly operation?: string;
  /**
   * Spread each batch over the round trips allowed in flight rather than filling one Txn first: a Txn's ranges run
   * one after another on one server thread, so a wave that visits many keys finishes sooner on several (measured on
   * 2 cores: the same 2–20 ranges over 480k keys, 117–135 ms in one Txn, 67–94 ms in two). Costs round trips.
   */
  readonly spread?: boolean;
  /** What the server offers (capabilities.ts: serverCapabilities), when the caller detected it. */
  readonly capabilities?: ServerCapabilities;
}

/**
 * The scan engine's only way to the server: range requests at one pinned revision, throttled to a number in
 * flight, metered. On etcd ≤ 3.6 a range costs the server every key in [key, range_end) even with a limit (its
 * answer's `count` is exactly that number), so `visited` — Σ count — is the server's work, and `returned` the keys
 * transferred and decoded. Never sends a sort order: with one, etcd ≤ 3.6 ignores the limit and reads everything.
 */
export class RangeReader {
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  // Requests of a scan share one call of the connection: see run().
  private pinned: string | undefined;
  private readonly concurrency: number;
  private client: Etcd3 | undefined;
  private batchOps = BATCH_OPS;
  /** Range requests (alone or inside a Txn). */
  queries = 0;
  /** Round trips: requests alone plus Txns. */
  trips = 0;
  visited = 0;
  returned = 0;

  constructor(
    private readonly conn: EtcdConnection,
    private readonly options: ReaderOptions = {},
  ) {
    this.pinned = options.revision;
    this.concurrency = Math.max(1, options.concurrency ?? 8);
  }

  /** The revision every answer so far was read at (undefined before the first). */
  get revision(): string | undefined {
    return this.pinned;
  }

  get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  /**
   * Pins every later request to `revision`: the answer a scan goes on from, when requests sent together before any
   * answer (so unpinned) were read at different revisions.
   */
  pin(revision: string): void {
    this.pinned = revision;
  }

  /** The path requests take on this server: unary Range, until a streaming path exists ({@link rangePath}). */
  get path(): RangePath {
    return rangePath(this.options.capabilities);
  }

  /**
   * Runs a whole scan as one call of the connection (one error translation, one latency sample) rather than one
   * per request.
   */
  run<T>(scan: () => Promise<T>): Promise<T> {
    return this.conn.call(
      this.options.operation ?? 'read keys',
      async (client) => {
        this.client = client;
        try {
          return await scan();
        } finally {
          this.client = undefined;
        }
      },
      this.options.signal,
    );
  }

  /** One range request over [from, to) (absolute keys). */
  async range(from: Buffer, to: Bound, request: RangeRequest): Promise<RangeAnswer> {
    return this.throttled(async () => {
      const revision = this.pinned;
      const res = await this.send((client) => client.kv.range(rangeRequest({ from, to, request }, revision)));
      this.trips++;
      this.pinned ??= res.header.revision;
      return this.meter(res, res.header.revision);
    });
  }

  /**
   * Several ranges in one round trip: a Txn without compares whose operations are read-only ranges, which etcd
   * answers like ranges (same pinned revision, same counts and limits) without going through raft. A round trip
   * through the client costs far more than a range's own work on small ranges, so a scan asks whole waves at once.
   * Answers come in the order of `specs`. `spread` overrides the reader's option for this batch.
   */
  async batch(specs: readonly RangeSpec[], spread = this.options.spread): Promise<RangeAnswer[]> {
    if (specs.length <= 1) return Promise.all(specs.map((s) => this.range(s.from, s.to, s.request)));
    const needed = Math.ceil(specs.length / this.batchOps);
    const n = spread ? Math.max(needed, Math.min(this.concurrency, specs.length)) : needed;
    if (n > 1) {
      // Interleaved, so that each Txn gets a share of the large ranges and of the small ones.
      const parts: RangeSpec[][] = Array.from({ length: n }, () => []);
      specs.forEach((s, i) => parts[i % n].push(s));
      const answers = await Promise.all(parts.map((p) => this.txn(p)));
      return specs.map((_, i) => answers[i % n][Math.floor(i / n)]);
    }
    return this.txn(specs);
  }

  /** Ranges in one Txn (at most batchOps of them; halved and retried on a server that allows fewer). */
  private async txn(specs: readonly RangeSpec[]): Promise<RangeAnswer[]> {
    if (specs.length === 1) return [await this.range(specs[0].from, specs[0].to, specs[0].request)];
    if (specs.length > this.batchOps) return this.batch(specs);
    let answers: RangeAnswer[] | undefined;
    try {
      answers = await this.throttled(async () => {
        const revision = this.pinned;
        const res = await this.send((client) =>
          client.kv.txn({
            compare: [],
            success: specs.map((s) => ({ request_range: rangeRequest(s, revision) })),
            failure: [],
          }),
        );
        this.trips++;
        this.pinned ??= res.header.revision;
        return res.responses.map((r) => this.meter(r.response_range, res.header.revision));
      });
    } catch (err) {
      // A server started with a lower --max-txn-ops: halve and retry.
      if (!isTooManyOps(err) || this.batchOps <= 1) throw err;
      this.batchOps = Math.max(1, Math.min(this.batchOps, specs.length >> 1));
    }
    return answers ?? this.txn(specs);
  }

  private async throttled<T>(fn: () => Promise<T>): Promise<T> {
    if (this.options.signal?.aborted) throw cancelledError();
    while (this.inFlight >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
    try {
      return await fn();
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  /** Inside run() the scan is one call of the connection; alone, each request is one. */
  private send<T>(fn: (client: Etcd3) => Promise<T>): Promise<T> {
    return this.client
      ? fn(this.client)
      : this.conn.call(this.options.operation ?? 'read keys', fn, this.options.signal);
  }

  private meter(res: IRangeResponse, revision: string): RangeAnswer {
    const count = Number(res.count);
    this.queries++;
    this.visited += count;
    this.returned += res.kvs.length;
    return { kvs: res.kvs, count, more: res.more, revision };
  }

  /** Keys in [from, to) without transferring any (the count floor). */
  async count(from: Buffer, to: Bound): Promise<number> {
    return (await this.range(from, to, { limit: 0, countOnly: true })).count;
  }
}

/** The server's "too many operations in txn request", raw (inside a scan) or translated (alone). */
function isTooManyOps(err: unknown): boolean {
  if (err instanceof EtcdExplorerError) return err.kind === 'tooManyOps';
  return /too many operations in txn request/i.test(err instanceof Error ? err.message : String(err));
}

function rangeRequest(spec: RangeSpec, revision: string | undefined): IRangeRequest {
  const { from, to, request } = spec;
  return {
    key: from.length ? from : Buffer.from([0]),
    range_end: to ?? Buffer.from([0]),
    limit: request.limit,
    ...(request.values ? {} : { keys_only: true }),
    ...(request.countOnly ? { count_only: true } : {}),
    ...(revision ? { revision } : {}),
  };
}

import type { Etcd3, IKeyValue } from 'etcd3';
import { EtcdConnection } from '../connection';
import { cancelledError } from '../errors';
import { RangePath, ServerCapabilities, rangePath } from './capabilities';
import { Bound } from './partition';

/** What one range request answered. */
export interface RangeAnswer {
  readonly kvs: IKeyValue[];
  /** Keys in the whole range (what the server visited to answer, whatever the limit). */
  readonly count: number;
  readonly more: boolean;
}

export interface RangeRequest {
  /** Keys returned at most (0: all). */
  readonly limit: number;
  /** Values too (export); listings and counts never read values. */
  readonly values?: boolean;
  readonly countOnly?: boolean;
}

export interface ReaderOptions {
  /** Pin every request to this revision; otherwise the first answer's revision pins the rest. */
  readonly revision?: string;
  /** Requests in flight at once (default 8). */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /** Operation name for error messages ("list keys" → "Could not list keys: …"). */
  readonly operation?: string;
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
  queries = 0;
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
    if (this.options.signal?.aborted) throw cancelledError();
    while (this.inFlight >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
    try {
      const revision = this.pinned;
      const range = (client: Etcd3) =>
        client.kv.range({
          key: from.length ? from : Buffer.from([0]),
          range_end: to ?? Buffer.from([0]),
          limit: request.limit,
          ...(request.values ? {} : { keys_only: true }),
          ...(request.countOnly ? { count_only: true } : {}),
          ...(revision ? { revision } : {}),
        });
      // Inside run() the scan is one call of the connection; alone, each request is one.
      const res = this.client
        ? await range(this.client)
        : await this.conn.call(this.options.operation ?? 'read keys', range, this.options.signal);
      this.queries++;
      const count = Number(res.count);
      this.visited += count;
      this.returned += res.kvs.length;
      this.pinned ??= res.header.revision;
      return { kvs: res.kvs, count, more: res.more };
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  /** Keys in [from, to) without transferring any (the count floor). */
  async count(from: Buffer, to: Bound): Promise<number> {
    return (await this.range(from, to, { limit: 0, countOnly: true })).count;
  }
}

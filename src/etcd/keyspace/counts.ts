import type { IKeyValue } from 'etcd3';
import { EtcdConnection } from '../connection';
import { Span, endOf } from './partition';
import { RangeReader } from './rangeReader';

/** Every key under `prefix` (relative to the namespace) as one absolute range. */
export function prefixSpan(conn: EtcdConnection, prefix: Buffer): Span {
  const abs = conn.absoluteKey(prefix);
  return { lo: abs, hi: endOf(abs) };
}

/** Exactly one key (relative to the namespace) as an absolute range. */
export function oneKeySpan(conn: EtcdConnection, key: Buffer): Span {
  const abs = conn.absoluteKey(key);
  return { lo: abs, hi: Buffer.concat([abs, Buffer.from([0])]) };
}

export interface SpanCounts {
  /** Keys in each span, in the order asked. */
  readonly counts: number[];
  /** The first keys of the spans taken in order, at most `sample` (with values only when asked). */
  readonly sample: IKeyValue[];
  /** The revision every count was read at (undefined when no span was asked). */
  readonly revision?: string;
  /** Range requests sent, and Σ count (the keys the server visited). */
  readonly queries: number;
  readonly visited: number;
}

export interface CountOptions {
  /** Keys to return besides the counts, taken from the first spans (default 0: count_only requests). */
  readonly sample?: number;
  /** The sample's values too (default keys-only). */
  readonly values?: boolean;
  /** Pin to this revision; otherwise the first answer's pins the rest. */
  readonly revision?: string;
  readonly signal?: AbortSignal;
  /** Phrase for errors and latency ("count keys" → "Could not count keys: …"). */
  readonly operation?: string;
  /** Requests in flight at once (default 8). */
  readonly concurrency?: number;
}

/**
 * Keys in each of `spans`, counted by the server (one request per span: count_only, or keys-only with the limit
 * the sample still needs), all at one revision, through the scan engine's {@link RangeReader} (metered,
 * cancellable, one call of the connection). The counts cost the server the floor — one visit per key — and
 * transfer no more than the sample. Spans should be disjoint for the sample to hold each key once.
 */
export async function countSpans(
  conn: EtcdConnection,
  spans: readonly Span[],
  options: CountOptions = {},
): Promise<SpanCounts> {
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const reader = new RangeReader(conn, {
    revision: options.revision,
    signal: options.signal,
    operation: options.operation ?? 'count keys',
    concurrency,
  });
  const wanted = Math.max(0, options.sample ?? 0);
  const counts: number[] = new Array<number>(spans.length).fill(0);
  const sampled: IKeyValue[][] = spans.map(() => []);
  let returned = 0;
  const one = async (i: number) => {
    // Decided when the request is sent: once enough keys came back, the rest only count.
    const need = wanted - returned;
    const answer = await reader.range(
      spans[i].lo,
      spans[i].hi,
      need > 0 ? { limit: need, values: options.values } : { limit: 0, countOnly: true },
    );
    counts[i] = answer.count;
    sampled[i] = answer.kvs;
    returned += answer.kvs.length;
  };
  await reader.run(async () => {
    if (!spans.length) return;
    // The first answer pins the revision for every other request.
    await one(0);
    let next = 1;
    const worker = async () => {
      for (let i = next++; i < spans.length; i = next++) await one(i);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, spans.length - 1) }, worker));
  });
  return {
    counts,
    sample: sampled.flat().slice(0, wanted),
    revision: reader.revision,
    queries: reader.queries,
    visited: reader.visited,
  };
}

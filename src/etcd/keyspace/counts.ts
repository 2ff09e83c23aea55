import type { IKeyValue } from 'etcd3';
import { EtcdConnection } from '../connection';
import { Span, endOf } from './partition';
import { RangeReader, RangeRequest, RangeSpec } from './rangeReader';

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
  /** Range requests sent, Σ count (the keys the server visited), and round trips (a Txn of ranges is one). */
  readonly queries: number;
  readonly visited: number;
  readonly trips: number;
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
 * Keys in each of `spans`, counted by the server, and the first `sample` keys of the spans taken in order, all at
 * one revision, through the scan engine's {@link RangeReader} (metered, cancellable, one call of the connection):
 * the first span alone (it pins the revision), the others count_only in Txns of ranges, then the rest of the
 * sample from the spans that hold it — three round trips for up to 129 spans. The counts cost the server the
 * floor (one visit per key) and transfer no more than the sample. Spans should be disjoint.
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
  await reader.run(async () => {
    if (!spans.length) return;
    // The first answer pins the revision of every other request (and brings the sample when it holds enough).
    const first = await reader.range(spans[0].lo, spans[0].hi, sampleRequest(wanted, options.values));
    counts[0] = first.count;
    sampled[0] = first.kvs;
    if (spans.length === 1) return;
    // The others counted in Txns of ranges (one round trip per 128), then the rest of the sample read from the
    // spans that hold it, now that their counts say which.
    const rest = await reader.batch(
      spans.slice(1).map((s) => ({ from: s.lo, to: s.hi, request: sampleRequest(0, false) })),
    );
    rest.forEach((a, i) => (counts[i + 1] = a.count));
    const take: number[] = [];
    const specs: RangeSpec[] = [];
    let need = wanted - first.kvs.length;
    for (let i = 1; i < spans.length && need > 0; i++) {
      const limit = Math.min(counts[i], need);
      if (limit === 0) continue;
      take.push(i);
      specs.push({ from: spans[i].lo, to: spans[i].hi, request: sampleRequest(limit, options.values) });
      need -= limit;
    }
    // Values of up to 1.5 MiB each: at most VALUE_OPS per Txn keeps an answer under the client's 64 MiB.
    const group = options.values ? VALUE_OPS : specs.length;
    for (let g = 0; g < specs.length; g += group) {
      const answers = await reader.batch(specs.slice(g, g + group));
      answers.forEach((a, j) => (sampled[take[g + j]] = a.kvs));
    }
  });
  return {
    counts,
    sample: sampled.flat().slice(0, wanted),
    revision: reader.revision,
    queries: reader.queries,
    visited: reader.visited,
    trips: reader.trips,
  };
}

/** Ranges with values per Txn: 32 × 1.5 MiB (the server's largest value by default) < 64 MiB. */
const VALUE_OPS = 32;

/** A request for the first `limit` keys of a range with its count, or only the count. */
function sampleRequest(limit: number, values: boolean | undefined): RangeRequest {
  return limit > 0 ? { limit, values } : { limit: 0, countOnly: true };
}

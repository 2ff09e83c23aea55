import * as http from 'node:http';
import * as https from 'node:https';
import { EtcdExplorerError } from './errors';

/**
 * Prometheus text exposition format (what etcd serves at /metrics). Hand-written because the npm parser we
 * tried (parse-prometheus-text-format 1.1.1) merges labelled histogram series and drops their sum/count,
 * and etcd's gRPC and disk histograms are labelled.
 */
export interface Sample {
  /** Full sample name, e.g. etcd_disk_wal_fsync_duration_seconds_bucket. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  readonly help: string;
  readonly samples: Sample[];
}

export interface Histogram {
  /** Labels of the series, without `le`. */
  readonly labels: Readonly<Record<string, string>>;
  /** Cumulative bucket counts by upper bound, ascending; the last is +Inf. */
  readonly buckets: Array<{ le: number; count: number }>;
  readonly sum: number;
  readonly count: number;
}

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const types = new Map<string, MetricFamily['type']>();
  const helps = new Map<string, string>();
  const familyOf = (sampleName: string): string => {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (sampleName.endsWith(suffix)) {
        const base = sampleName.slice(0, -suffix.length);
        const t = types.get(base);
        if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base;
      }
    }
    return sampleName;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)\s*(.*)$/.exec(line);
      if (m?.[1] === 'TYPE')
        types.set(
          m[2],
          (['counter', 'gauge', 'histogram', 'summary'].includes(m[3]) ? m[3] : 'untyped') as MetricFamily['type'],
        );
      else if (m?.[1] === 'HELP') helps.set(m[2], unescapeHelp(m[3]));
      continue;
    }
    const sample = parseSample(line);
    if (!sample) continue;
    const name = familyOf(sample.name);
    let family = families.get(name);
    if (!family) {
      family = { name, type: types.get(name) ?? 'untyped', help: helps.get(name) ?? '', samples: [] };
      families.set(name, family);
    }
    family.samples.push(sample);
  }
  return families;
}

/** One sample line: name{labels} value [timestamp]. */
function parseSample(line: string): Sample | undefined {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) return undefined;
  const name = nameMatch[0];
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const key = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
      if (!key || line[i + key[0].length] !== '=' || line[i + key[0].length + 1] !== '"') return undefined;
      i += key[0].length + 2;
      let value = '';
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\') {
          const next = line[i + 1];
          value += next === 'n' ? '\n' : next;
          i += 2;
        } else value += line[i++];
      }
      if (line[i] !== '"') return undefined;
      i++;
      labels[key[0]] = value;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const value = parseValue(rest[0]);
  if (value === undefined) return undefined;
  return { name, labels, value };
}

function parseValue(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const n = Number(text);
  return Number.isNaN(n) ? undefined : n;
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(n|\\)/g, (_, c) => (c === 'n' ? '\n' : '\\'));
}

/** The series of a histogram family, one per label set (without `le`). */
export function histograms(family: MetricFamily | undefined): Histogram[] {
  if (!family || family.type !== 'histogram') return [];
  const series = new Map<
    string,
    { labels: Record<string, string>; buckets: Array<{ le: number; count: number }>; sum: number; count: number }
  >();
  for (const s of family.samples) {
    const { le, ...labels } = s.labels;
    const id = JSON.stringify(Object.entries(labels).sort());
    let h = series.get(id);
    if (!h) {
      h = { labels, buckets: [], sum: 0, count: 0 };
      series.set(id, h);
    }
    if (s.name.endsWith('_bucket') && le !== undefined)
      h.buckets.push({ le: parseValue(le) ?? Infinity, count: s.value });
    else if (s.name.endsWith('_sum')) h.sum = s.value;
    else if (s.name.endsWith('_count')) h.count = s.value;
  }
  for (const h of series.values()) h.buckets.sort((a, b) => a.le - b.le);
  return [...series.values()];
}

/** Adds up histogram series bucket by bucket (same bucket bounds), e.g. all gRPC methods. */
export function mergeHistograms(list: Histogram[]): Histogram | undefined {
  if (list.length === 0) return undefined;
  const buckets = list[0].buckets.map((b, i) => ({
    le: b.le,
    count: list.reduce((n, h) => n + (h.buckets[i]?.count ?? 0), 0),
  }));
  return {
    labels: {},
    buckets,
    sum: list.reduce((n, h) => n + h.sum, 0),
    count: list.reduce((n, h) => n + h.count, 0),
  };
}

/**
 * Quantile of a cumulative histogram the way Prometheus' histogram_quantile does it: find the bucket holding
 * the rank, interpolate linearly inside it; a rank in the +Inf bucket returns the highest finite bound.
 * NaN when the histogram is empty.
 */
export function histogramQuantile(q: number, buckets: ReadonlyArray<{ le: number; count: number }>): number {
  if (buckets.length === 0) return NaN;
  const total = buckets[buckets.length - 1].count;
  if (total === 0) return NaN;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevBound;
      const inBucket = b.count - prevCount;
      return inBucket === 0 ? b.le : prevBound + ((b.le - prevBound) * (rank - prevCount)) / inBucket;
    }
    prevBound = b.le;
    prevCount = b.count;
  }
  return prevBound;
}

/** Quantile of raw samples (sorted ascending), nearest rank: used for the client probes. */
export function sampleQuantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

export interface ScrapeTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/** GET <clientUrl>/metrics with a deadline (TLS aware). */
export function scrapeMetrics(clientUrl: string, options: { timeoutMs: number; tls?: ScrapeTls }): Promise<string> {
  const url = new URL('/metrics', clientUrl);
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.get(
      url,
      {
        timeout: options.timeoutMs,
        ...(url.protocol === 'https:' ? { ca: options.tls?.ca, cert: options.tls?.cert, key: options.tls?.key } : {}),
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new EtcdExplorerError('unreachable', `${url.href} answered HTTP ${res.statusCode}.`));
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new EtcdExplorerError('timeout', `No answer from ${url.href} within ${options.timeoutMs} ms.`)),
    );
    req.on('error', (err) =>
      reject(
        err instanceof EtcdExplorerError
          ? err
          : new EtcdExplorerError('unreachable', `Could not read ${url.href}: ${err.message}`, err.message, err),
      ),
    );
  });
}

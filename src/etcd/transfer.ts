import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { IKeyValue } from 'etcd3';
import { createInterface } from 'node:readline';
import {
  BulkOptions,
  BulkResult,
  RunnerBatch,
  atomicRefusal,
  checkCheckpoint,
  checkMaxTxnOps,
  currentRevision,
  resumeFloor,
  revisionTracker,
  runBatches,
} from './batchRunner';
import { putBatch } from './bulk';
import { BulkItem, parseNdjsonLine } from './bulkInput';
import { EtcdConnection } from './connection';
import { EtcdExplorerError } from './errors';
import { displayKey, prefixEnd } from './keyCodec';
import { orderedScan } from './keyspace/orderedScan';
import { RangeReader } from './keyspace/rangeReader';
import { leaseHex } from './leases';

/** Written beside an export as `<file>.sha256.json`; an import trusts the file only if it matches. */
export interface ExportManifest {
  /** The export's file name (no directory: the pair can be moved together). */
  readonly file: string;
  readonly sha256: string;
  readonly keys: number;
  readonly bytes: number;
  readonly revision: string;
  /** The exported prefix as display text (escaped where not UTF-8, see keyCodec). */
  readonly prefix: string;
}

/** One line of an export after the header. Keys are relative to the connection's namespace. */
export interface ExportRecord {
  readonly key: string;
  readonly keyEncoding: 'utf8' | 'base64';
  readonly value: string;
  readonly valueEncoding: 'utf8' | 'base64';
  readonly createRevision: string;
  readonly modRevision: string;
  readonly version: string;
  /** Hex, as etcdctl shows it; omitted without a lease. */
  readonly lease?: string;
}

export interface ExportHeader {
  readonly etcdExport: 1;
  readonly prefix: string;
  readonly revision: string;
  readonly exportedAt: string;
}

/** Keys per read at most, and bytes (keys + values) per read at most: pages are large but memory stays bounded. */
const DEFAULT_PAGE_SIZE = 20_000;
const PAGE_BYTES = 4 * 1024 * 1024;

/**
 * One export line: exactly `JSON.stringify(record) + '\n'` of an {@link ExportRecord} (same bytes, so the same
 * checksums), built without an intermediate object: a million records are a million of these.
 */
export function recordLine(key: Buffer, kv: IKeyValue): string {
  const k = encode(key);
  const v = encode(kv.value);
  const lease = kv.lease && kv.lease !== '0' ? `,"lease":"${leaseHex(kv.lease)}"` : '';
  return (
    `{"key":${JSON.stringify(k.text)},"keyEncoding":"${k.encoding}","value":${JSON.stringify(v.text)},"valueEncoding":"${v.encoding}",` +
    `"createRevision":${JSON.stringify(kv.create_revision)},"modRevision":${JSON.stringify(kv.mod_revision)},"version":${JSON.stringify(kv.version)}${lease}}\n`
  );
}

export function manifestPath(file: string): string {
  return `${file}.sha256.json`;
}

/** Text where the bytes are valid UTF-8 (node's native check: a million records cost no per-byte JS loop). */
function encode(bytes: Buffer): { text: string; encoding: 'utf8' | 'base64' } {
  return isUtf8(bytes)
    ? { text: bytes.toString('utf8'), encoding: 'utf8' }
    : { text: bytes.toString('base64'), encoding: 'base64' };
}

/**
 * Exports every key under `prefix` to NDJSON, all pages read at the revision of the first (one consistent
 * snapshot; a compaction past it fails the export rather than mixing revisions). Pages are keys+values with a
 * limit and no sort order; each page is written through the file stream, waiting for it to drain, and hashed as
 * written, so memory stays at one page. The file appears under its name only when complete, then its manifest.
 */
export async function exportPrefix(
  conn: EtcdConnection,
  prefix: Buffer,
  file: string,
  options: { signal?: AbortSignal; pageSize?: number; onProgress?: (keys: number, bytes: number) => void } = {},
): Promise<ExportManifest> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1)
    throw new EtcdExplorerError('invalid', `The export page size must be a positive whole number (got ${pageSize}).`);
  const abs = conn.absoluteKey(prefix);
  const end = prefixEnd(abs);
  const partial = `${file}.partial`;
  const out = createWriteStream(partial);
  let failure: Error | undefined;
  out.on('error', (err) => (failure = err));
  const hash = createHash('sha256');
  let bytes = 0;
  let keys = 0;
  const write = async (text: string) => {
    if (failure) throw failure;
    const chunk = Buffer.from(text, 'utf8');
    hash.update(chunk);
    bytes += chunk.length;
    // once() rejects if the stream errors while we wait.
    if (!out.write(chunk)) await once(out, 'drain');
  };
  try {
    let revision: string | undefined;
    for await (const page of pinnedPages(conn, abs.length ? abs : Buffer.from([0]), end, pageSize, options.signal)) {
      let text = '';
      if (revision === undefined) {
        revision = page.revision;
        const header: ExportHeader = {
          etcdExport: 1,
          prefix: displayKey(prefix),
          revision,
          exportedAt: new Date().toISOString(),
        };
        text += JSON.stringify(header) + '\n';
      }
      for (const kv of page.kvs) text += recordLine(conn.relativeKey(kv.key), kv);
      keys += page.kvs.length;
      await write(text);
      options.onProgress?.(keys, bytes);
    }
    out.end();
    await once(out, 'finish');
    await fsp.rename(partial, file);
    const manifest: ExportManifest = {
      file: path.basename(file),
      sha256: hash.digest('hex'),
      keys,
      bytes,
      revision: revision!,
      prefix: displayKey(prefix),
    };
    await fsp.writeFile(manifestPath(file), JSON.stringify(manifest, null, 2) + '\n');
    return manifest;
  } catch (err) {
    out.destroy();
    await fsp.rm(partial, { force: true });
    if (err instanceof EtcdExplorerError) throw err;
    throw new EtcdExplorerError(
      'unknown',
      `Could not write the export to ${file}: ${(err as Error).message}`,
      undefined,
      err,
    );
  }
}

/**
 * Every key in [start, end) with values, in key order, a page at a time, all at the revision of the first page
 * (the scan engine's {@link orderedScan}: disjoint ranges sized from the density of the keys read, read ahead
 * while the caller writes the previous page; each key is counted about twice, not once per page). A `reader` given
 * brings its pinned revision (e.g. that of a count taken first).
 */
export async function* pinnedPages(
  conn: EtcdConnection,
  start: Buffer,
  end: Buffer,
  pageSize: number,
  signal?: AbortSignal,
  reader = new RangeReader(conn, { signal, operation: `read keys from ${displayKey(conn.relativeKey(start))}` }),
): AsyncGenerator<{ kvs: IKeyValue[]; revision: string }> {
  const to = end.length === 1 && end[0] === 0 ? null : end;
  for await (const kvs of orderedScan(reader, start, to, { pageSize, pageBytes: PAGE_BYTES, values: true }))
    yield { kvs, revision: reader.revision! };
}

async function readManifest(file: string): Promise<ExportManifest> {
  let text: string;
  try {
    text = await fsp.readFile(manifestPath(file), 'utf8');
  } catch {
    throw new EtcdExplorerError(
      'invalid',
      `${path.basename(file)} has no checksum manifest (${path.basename(manifestPath(file))}), so it cannot be verified. Nothing was imported.`,
    );
  }
  let m: ExportManifest;
  try {
    m = JSON.parse(text) as ExportManifest;
  } catch {
    throw new EtcdExplorerError(
      'invalid',
      `The manifest ${path.basename(manifestPath(file))} is not valid JSON. Nothing was imported.`,
    );
  }
  if (
    typeof m.sha256 !== 'string' ||
    !/^[0-9a-f]{64}$/.test(m.sha256) ||
    !Number.isInteger(m.keys) ||
    !Number.isInteger(m.bytes) ||
    typeof m.revision !== 'string'
  ) {
    throw new EtcdExplorerError(
      'invalid',
      `The manifest ${path.basename(manifestPath(file))} is incomplete (sha256, keys, bytes, revision). Nothing was imported.`,
    );
  }
  if (m.file !== path.basename(file)) {
    throw new EtcdExplorerError(
      'invalid',
      `The manifest describes "${m.file}", not "${path.basename(file)}". Nothing was imported.`,
    );
  }
  return m;
}

/** Reads an export line by line (constant memory), hashing the bytes as they stream past. */
async function* exportLines(
  file: string,
  hash: ReturnType<typeof createHash>,
  counter: { bytes: number },
): AsyncGenerator<string> {
  const input = createReadStream(file);
  input.on('data', (chunk) => {
    hash.update(chunk as Buffer);
    counter.bytes += (chunk as Buffer).length;
  });
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) yield line;
  } finally {
    lines.close();
    input.destroy();
  }
}

/**
 * Checks an export against its manifest: size and SHA-256 of the bytes, then its structure (header first, every
 * record valid, keys strictly ascending as ranges return them, the count the manifest states). Reads the file as a
 * stream. Throws an 'invalid' {@link EtcdExplorerError} naming what is wrong.
 */
export async function verifyExport(file: string): Promise<ExportManifest> {
  const manifest = await readManifest(file);
  const hash = createHash('sha256');
  const counter = { bytes: 0 };
  let lineNo = 0;
  let keys = 0;
  let previous: Buffer | undefined;
  let structureError: string | undefined;
  try {
    for await (const line of exportLines(file, hash, counter)) {
      lineNo++;
      if (structureError) continue;
      try {
        if (lineNo === 1) {
          checkHeader(line, manifest);
          continue;
        }
        const item = parseNdjsonLine(line, lineNo);
        if (!item) throw new EtcdExplorerError('invalid', `line ${lineNo}: a second header.`);
        if (previous && Buffer.compare(previous, item.key) >= 0)
          throw new EtcdExplorerError(
            'invalid',
            `line ${lineNo}: keys are not in ascending order (repeated or moved record).`,
          );
        previous = item.key;
        keys++;
      } catch (err) {
        structureError = (err as Error).message;
      }
    }
  } catch (err) {
    throw new EtcdExplorerError(
      'invalid',
      `Could not read ${path.basename(file)}: ${(err as Error).message}. Nothing was imported.`,
    );
  }
  const sha256 = hash.digest('hex');
  if (counter.bytes !== manifest.bytes || sha256 !== manifest.sha256) {
    throw new EtcdExplorerError(
      'invalid',
      `${path.basename(file)} does not match its checksum (${counter.bytes} bytes, SHA-256 ${sha256.slice(0, 12)}…; the manifest says ${manifest.bytes} bytes, ${manifest.sha256.slice(0, 12)}…). The file is damaged or was edited. Nothing was imported.`,
    );
  }
  if (structureError)
    throw new EtcdExplorerError(
      'invalid',
      `${path.basename(file)} matches its checksum but is not a valid export: ${structureError} Nothing was imported.`,
    );
  if (lineNo === 0) throw new EtcdExplorerError('invalid', `${path.basename(file)} is empty. Nothing was imported.`);
  if (keys !== manifest.keys)
    throw new EtcdExplorerError(
      'invalid',
      `${path.basename(file)} holds ${keys} keys; its manifest says ${manifest.keys}. Nothing was imported.`,
    );
  return manifest;
}

function checkHeader(line: string, manifest: ExportManifest): void {
  let header: Partial<ExportHeader>;
  try {
    header = JSON.parse(line) as Partial<ExportHeader>;
  } catch {
    throw new EtcdExplorerError('invalid', 'line 1: the header is not valid JSON.');
  }
  if (header.etcdExport !== 1)
    throw new EtcdExplorerError('invalid', 'line 1: not an etcd Explorer export header (etcdExport: 1).');
  if (header.revision !== manifest.revision)
    throw new EtcdExplorerError(
      'invalid',
      `line 1: the header's revision ${header.revision} differs from the manifest's ${manifest.revision}.`,
    );
}

export interface ImportOptions extends BulkOptions {
  /**
   * Keys that exist in the target: 'skip' leaves them; 'overwrite' replaces them; 'ifUnchanged' replaces a key
   * only while its mod_revision still equals the record's modRevision (importing back into the cluster the export
   * came from: restore what nobody changed since), and counts any other existing key as a conflict. Keys absent
   * in the target are written in every mode.
   */
  readonly mode: 'skip' | 'overwrite' | 'ifUnchanged';
  readonly onProgress?: (keys: number) => void;
  /** Re-attach the exported lease ids. Off by default: leases belong to the source cluster and rarely exist here. */
  readonly keepLeases?: boolean;
}

/**
 * Imports an export: verifies the checksum and structure first (a damaged file writes nothing), then streams the
 * records into guarded Txn batches exactly like {@link bulkPut} (same checkpoint and resume). Leases are dropped
 * unless `keepLeases`. The file is hashed again while importing; if it changed since the check, the run stops.
 */
export async function importExport(conn: EtcdConnection, file: string, options: ImportOptions): Promise<BulkResult> {
  conn.assertWritable(`import ${path.basename(file)}`);
  const mode = options.mode;
  if (!['skip', 'overwrite', 'ifUnchanged'].includes(mode))
    throw new EtcdExplorerError('invalid', `Unknown import mode "${String(mode)}" (skip, overwrite or ifUnchanged).`);
  const maxTxnOps = checkMaxTxnOps(options.maxTxnOps);
  const manifest = await verifyExport(file);
  if (options.atomic && manifest.keys > maxTxnOps) throw atomicRefusal(manifest.keys, maxTxnOps, 'keys');
  const batchSize = options.atomic ? Math.max(manifest.keys, 1) : maxTxnOps;
  const kind = `import:${mode}${options.keepLeases ? '+leases' : ''}`;
  const fingerprint = manifest.sha256;
  checkCheckpoint(options.checkpoint, { kind, total: manifest.keys, batchSize, fingerprint });
  const start = await currentRevision(conn, options.signal);
  const floor = resumeFloor(options.checkpoint, start);
  const revisions = revisionTracker(start, floor);
  const batchCount = Math.ceil(manifest.keys / batchSize);
  let imported = 0;
  let leased = 0;

  async function* batches(): AsyncGenerator<RunnerBatch> {
    const hash = createHash('sha256');
    const counter = { bytes: 0 };
    let lineNo = 0;
    let items: BulkItem[] = [];
    let index = 0;
    for await (const line of exportLines(file, hash, counter)) {
      lineNo++;
      const item = lineNo === 1 ? undefined : parseNdjsonLine(line, lineNo);
      if (!item) continue;
      if (item.lease) leased++;
      items.push(options.keepLeases ? item : { key: item.key, value: item.value, modRevision: item.modRevision });
      if (items.length === batchSize) {
        yield putBatch(conn, index++, items, mode, revisions, 'import');
        items = [];
      }
    }
    if (items.length) yield putBatch(conn, index, items, mode, revisions, 'import');
    if (hash.digest('hex') !== manifest.sha256) {
      throw new EtcdExplorerError(
        'invalid',
        `${path.basename(file)} changed while it was being imported; the batches listed as committed were written from it.`,
      );
    }
  }

  const result = await runBatches(batches(), {
    kind,
    total: manifest.keys,
    batchSize,
    batchCount,
    fingerprint,
    knownRevision: start,
    options: {
      ...options,
      onBatch: (b, done, total) => {
        if (b.status === 'committed' || b.status === 'skipped') {
          imported += b.ops;
          options.onProgress?.(imported);
        }
        options.onBatch?.(b, done, total);
      },
    },
  });
  const notes = [
    options.keepLeases
      ? 'Leases were kept: keys were attached to the exported lease ids (they must exist in this cluster).'
      : `Leases were not imported (they belong to the source cluster)${leased ? `: ${leased} keys had one and were written without it` : ''}.`,
  ];
  return { ...result, notes };
}

import type { Etcd3 } from 'etcd3';
import { EtcdConnection } from '../connection';
import { errorText } from '../errors';

/** How the scan engine's range requests reach the server. */
export type RangePath = 'unary' | 'stream';

/** What a server offers beyond unary Range, found out once per connection by {@link serverCapabilities}. */
export interface ServerCapabilities {
  /** The etcd version from the Status answer ("3.4.23"). */
  readonly version: string;
  /**
   * The server answered a KV.RangeStream call (etcd ≥ 3.7): one request streams a whole range in chunks at one
   * revision, counting it once, instead of pages that each count the rest of the range.
   */
  readonly rangeStream: boolean;
  /**
   * What the RangeStream probe got: 'answered' (the method exists), 'unimplemented' (gRPC UNIMPLEMENTED: an older
   * server, or a proxy that does not pass it through), or 'failed' (no verdict; asked again next time).
   */
  readonly probe: 'answered' | 'unimplemented' | 'failed';
  /** The probe's error, when it failed or the server refused. */
  readonly detail?: string;
}

const RANGE_STREAM = '/etcdserverpb.KV/RangeStream';
/** gRPC UNIMPLEMENTED: the server has no such method. */
const UNIMPLEMENTED = 12;
/**
 * Codes only the method's own handler gives (INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, FAILED_PRECONDITION,
 * OUT_OF_RANGE, UNAUTHENTICATED): the server knows RangeStream. Others (UNAVAILABLE, DEADLINE_EXCEEDED…) say nothing.
 */
const HANDLED = new Set([3, 5, 7, 9, 11, 16]);

/** Read paths this client implements; a server's RangeStream is used once 'stream' is one of them. */
const IMPLEMENTED: readonly RangePath[] = ['unary'];

/** The path the scan engine's requests take on a server with these capabilities. */
export function rangePath(capabilities: ServerCapabilities | undefined): RangePath {
  return capabilities?.rangeStream && IMPLEMENTED.includes('stream') ? 'stream' : 'unary';
}

/** The verdict of a RangeStream call from how it ended: a gRPC status code, or 'data' when a chunk arrived. */
export function probeVerdict(outcome: number | 'data'): ServerCapabilities['probe'] {
  if (outcome === 'data' || outcome === 0 || HANDLED.has(outcome)) return 'answered';
  return outcome === UNIMPLEMENTED ? 'unimplemented' : 'failed';
}

const detected = new WeakMap<EtcdConnection, Promise<ServerCapabilities>>();

/**
 * What the server behind `conn` offers, detected once per connection: its version from the Status answer, and
 * whether it serves KV.RangeStream — asked, not assumed from the version (a proxy or a gateway in between may not
 * pass it through). A probe that got no verdict (unreachable, timeout) is not kept, so the next call asks again.
 */
export function serverCapabilities(conn: EtcdConnection, signal?: AbortSignal): Promise<ServerCapabilities> {
  let found = detected.get(conn);
  if (!found) {
    found = detect(conn, signal);
    detected.set(conn, found);
    found.then(
      (c) => c.probe === 'failed' && detected.delete(conn),
      () => detected.delete(conn),
    );
  }
  return found;
}

async function detect(conn: EtcdConnection, signal?: AbortSignal): Promise<ServerCapabilities> {
  const version =
    conn.summary?.version ?? (await conn.call('read the status', (c) => c.maintenance.status(), signal)).version;
  const probe = await conn.call('probe RangeStream', (c) => probeRangeStream(c, conn), signal);
  return { version, rangeStream: probe.verdict === 'answered', probe: probe.verdict, detail: probe.detail };
}

/** The parts of etcd3's connection pool and grpc-js's client the probe uses (etcd3 has no RangeStream method). */
interface Pool {
  withConnection<R>(service: 'KV', fn: (args: { client: GrpcClient; metadata: unknown }) => Promise<R> | R): Promise<R>;
}
interface GrpcClient {
  readonly constructor: { service?: { Range?: { requestSerialize(value: unknown): Buffer } } };
  makeServerStreamRequest(
    method: string,
    serialize: (value: unknown) => Buffer,
    deserialize: (value: Buffer) => Buffer,
    argument: unknown,
    metadata: unknown,
    options: { deadline: number },
  ): GrpcStream;
}
interface GrpcStream {
  on(event: 'data', fn: (chunk: Buffer) => void): this;
  on(event: 'error', fn: (err: { code?: number; details?: string; message: string }) => void): this;
  on(event: 'status', fn: (status: { code: number; details: string }) => void): this;
  cancel(): void;
}

/**
 * One RangeStream call for a single key counted only (RangeStream takes the unary RangeRequest), ended at its first
 * chunk. An older server answers UNIMPLEMENTED before reading the request.
 */
function probeRangeStream(
  client: Etcd3,
  conn: EtcdConnection,
): Promise<{ verdict: ServerCapabilities['probe']; detail?: string }> {
  const pool = (client.kv as unknown as { client: Pool }).client;
  return pool.withConnection('KV', ({ client: grpc, metadata }) => {
    const serialize = grpc.constructor.service?.Range?.requestSerialize;
    if (!serialize) return { verdict: 'failed' as const, detail: 'the KV client cannot encode a RangeRequest' };
    const key = conn.namespace.length ? conn.namespace : Buffer.from([0]);
    return new Promise<{ verdict: ServerCapabilities['probe']; detail?: string }>((resolve) => {
      let settled = false;
      const settle = (verdict: ServerCapabilities['probe'], detail?: string) => {
        if (settled) return;
        settled = true;
        resolve({ verdict, detail });
      };
      const stream = grpc.makeServerStreamRequest(
        RANGE_STREAM,
        (value) => serialize(value),
        (bytes) => bytes,
        { key, count_only: true },
        metadata,
        { deadline: Date.now() + conn.timeoutMs },
      );
      stream.on('data', () => {
        settle(probeVerdict('data'));
        stream.cancel();
      });
      stream.on('error', (err) => settle(probeVerdict(err.code ?? -1), err.details ?? errorText(err)));
      stream.on('status', (status) => settle(probeVerdict(status.code), status.code ? status.details : undefined));
    });
  });
}

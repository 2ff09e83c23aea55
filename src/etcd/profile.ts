import { EtcdExplorerError } from './errors';

/**
 * TLS settings of a profile: file paths only, never key material in settings. The server certificate is always
 * verified (against caFile, or the system roots when absent).
 */
export interface TlsSettings {
  /** PEM CA bundle used to verify the server. Absent: the system roots are used. */
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** A saved connection as it lives in settings.json (no secrets). */
export interface ConnectionProfile {
  readonly id: string;
  readonly name: string;
  readonly endpoints: readonly string[];
  /** Key prefix every operation is confined to; keys are shown relative to it. */
  readonly namespace?: string;
  readonly tls?: TlsSettings;
  readonly username?: string;
  /** Per-call gRPC deadline. etcd3 ignores dialTimeout, so this is what bounds every call. */
  readonly timeoutMs?: number;
  /** Retries of a failed call (network-level failures only), with exponential backoff. */
  readonly retries?: number;
  readonly readOnly?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_RETRIES = 2;

export const LOCALHOST_PROFILE: ConnectionProfile = {
  id: 'localhost',
  name: 'localhost',
  endpoints: ['http://127.0.0.1:2379'],
};

/** Accepts "host:port", "http://host:port" or "https://host:port"; adds the scheme implied by TLS. */
export function normalizeEndpoint(raw: string, tls: boolean): string {
  const text = raw.trim();
  if (!text) throw new EtcdExplorerError('config', 'An endpoint is empty.');
  const withScheme = /^[a-z]+:\/\//i.test(text) ? text : `${tls ? 'https' : 'http'}://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new EtcdExplorerError('config', `"${text}" is not a valid endpoint. Use host:port, e.g. 127.0.0.1:2379.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EtcdExplorerError('config', `Endpoint "${text}" must use http:// or https://.`);
  }
  if (!url.port) {
    throw new EtcdExplorerError('config', `Endpoint "${text}" has no port. etcd's client port is usually 2379.`);
  }
  if (url.pathname !== '/' && url.pathname !== '') {
    throw new EtcdExplorerError('config', `Endpoint "${text}" must not have a path.`);
  }
  return `${url.protocol}//${url.host}`;
}

/** Splits user input on commas/whitespace into normalized endpoints. */
export function parseEndpoints(input: string, tls: boolean): string[] {
  const parts = input.split(/[\s,]+/).filter((p) => p.length > 0);
  if (parts.length === 0) throw new EtcdExplorerError('config', 'Enter at least one endpoint, e.g. 127.0.0.1:2379.');
  return [...new Set(parts.map((p) => normalizeEndpoint(p, tls)))];
}

/**
 * Checks a profile read from settings (user-editable JSON) and fills defaults. Throws a `config` error naming
 * the field that is wrong.
 */
export function validateProfile(input: unknown): ConnectionProfile {
  if (typeof input !== 'object' || input === null) {
    throw new EtcdExplorerError('config', 'A connection entry in settings is not an object.');
  }
  const p = input as Record<string, unknown>;
  const name = typeof p.name === 'string' && p.name.trim() ? p.name.trim() : undefined;
  if (!name) throw new EtcdExplorerError('config', 'A connection in settings has no "name".');
  const id = typeof p.id === 'string' && p.id ? p.id : name;
  const tls = validateTls(p.tls, name);
  if (!Array.isArray(p.endpoints) || p.endpoints.length === 0) {
    throw new EtcdExplorerError('config', `Connection "${name}" has no "endpoints".`);
  }
  const endpoints = p.endpoints.map((e) => {
    if (typeof e !== 'string')
      throw new EtcdExplorerError('config', `Connection "${name}": endpoints must be strings.`);
    return normalizeEndpoint(e, tls !== undefined);
  });
  const timeoutMs = optionalNumber(p.timeoutMs, name, 'timeoutMs', 100, 600_000);
  const retries = optionalNumber(p.retries, name, 'retries', 0, 10);
  return {
    id,
    name,
    endpoints,
    namespace: typeof p.namespace === 'string' && p.namespace ? p.namespace : undefined,
    tls,
    username: typeof p.username === 'string' && p.username ? p.username : undefined,
    timeoutMs,
    retries,
    readOnly: p.readOnly === true,
  };
}

function validateTls(raw: unknown, name: string): TlsSettings | undefined {
  if (raw === undefined || raw === null || raw === false) return undefined;
  if (raw === true) return {};
  if (typeof raw !== 'object') throw new EtcdExplorerError('config', `Connection "${name}": "tls" must be an object.`);
  const t = raw as Record<string, unknown>;
  const str = (k: string): string | undefined => {
    const v = t[k];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') throw new EtcdExplorerError('config', `Connection "${name}": tls.${k} must be a path.`);
    return v;
  };
  const tls: TlsSettings = {
    caFile: str('caFile'),
    certFile: str('certFile'),
    keyFile: str('keyFile'),
  };
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new EtcdExplorerError('config', `Connection "${name}": set both tls.certFile and tls.keyFile, or neither.`);
  }
  return tls;
}

function optionalNumber(v: unknown, name: string, field: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new EtcdExplorerError('config', `Connection "${name}": "${field}" must be a number from ${min} to ${max}.`);
  }
  return v;
}

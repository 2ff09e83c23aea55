import { readFileSync } from 'node:fs';
import { EtcdExplorerError } from './errors';
import { ScrapeTls } from './metrics';
import { ConnectionProfile } from './profile';

/** The profile's TLS files for /metrics scrapes: the same CA and client certificate as its gRPC client. */
export function scrapeTls(profile: ConnectionProfile): ScrapeTls | undefined {
  const tls = profile.tls;
  if (!tls) return undefined;
  const read = (file: string | undefined, what: string) => {
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch {
      throw new EtcdExplorerError(
        'config',
        `The ${what} "${file}" cannot be read. Edit the connection's TLS settings.`,
      );
    }
  };
  return {
    ca: read(tls.caFile, 'CA file'),
    cert: read(tls.certFile, 'client certificate'),
    key: read(tls.keyFile, 'client key'),
  };
}

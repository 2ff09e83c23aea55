import type * as Etcd3Module from 'etcd3';

let loaded: typeof Etcd3Module | undefined;

/**
 * The etcd3 client library, loaded on first use. Loading it (gRPC, protobuf, etcd's .proto files) is most of
 * the extension's load time, and nothing needs it before the first connection or the first error to translate.
 */
export function etcd3(): typeof Etcd3Module {
  // A require inside a function: esbuild keeps the module's initialisation behind this call.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('etcd3') as typeof Etcd3Module;
  return loaded;
}

import { ConnectionManager } from './connections/connectionManager';
import { KeyTreeProvider } from './keys/keyTreeProvider';

/** What `activate` returns: used by the extension-host tests (and other extensions) to reach the services. */
export interface ExtensionApi {
  readonly connections: ConnectionManager;
  readonly keyTree: KeyTreeProvider;
}

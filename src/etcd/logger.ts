/** Logging sink the core writes to; the VS Code layer backs it with the "etcd" LogOutputChannel. */
export interface Logger {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Prefixes every line with a component name, e.g. "[connection localhost] …". */
export function componentLogger(base: Logger, component: string): Logger {
  const prefix = `[${component}] `;
  return {
    trace: (m) => base.trace(prefix + m),
    debug: (m) => base.debug(prefix + m),
    info: (m) => base.info(prefix + m),
    warn: (m) => base.warn(prefix + m),
    error: (m) => base.error(prefix + m),
  };
}

export const silentLogger: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

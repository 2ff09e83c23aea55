/** The part of a grpc-js duplex stream (watch, keep-alive) the core needs to end one. */
export interface ClosableStream {
  end(): void;
  cancel?: () => void;
  removeAllListeners(): void;
  on(event: 'error', cb: (err: Error) => void): void;
}

/**
 * Ends a raw stream for good: drops its listeners (no late events), swallows the error that cancelling raises,
 * half-closes and cancels it so the server releases the watch/keep-alive and nothing keeps the process alive.
 */
export function endStream(stream: ClosableStream | undefined): void {
  if (!stream) return;
  stream.removeAllListeners();
  stream.on('error', () => undefined);
  try {
    stream.end();
    stream.cancel?.();
  } catch {
    // already closed
  }
}

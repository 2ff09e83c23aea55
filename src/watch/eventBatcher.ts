import { RingBuffer } from '../shared/ringBuffer';

/**
 * Coalesces a high-rate stream into at most one flush per `intervalMs` (60 per second by default). While
 * paused it buffers up to `capacity` items, counting what overflowed, and flushes it all on resume.
 */
export class EventBatcher<T> {
  private pending: RingBuffer<T>;
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private pausedValue = false;
  /** Flushes so far (the benchmark reports their rate). */
  flushes = 0;

  constructor(
    private readonly flush: (items: T[], dropped: number) => void,
    capacity: number,
    private readonly intervalMs = 1000 / 60,
  ) {
    this.pending = new RingBuffer(capacity);
  }

  get paused(): boolean {
    return this.pausedValue;
  }

  push(items: readonly T[]): void {
    this.pending.pushAll(items);
    this.schedule();
  }

  setPaused(paused: boolean): void {
    this.pausedValue = paused;
    if (!paused) this.schedule();
  }

  /** Drops everything pending (the receiver is being re-initialized with the full state). */
  reset(): void {
    this.pending.clear();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer || this.pausedValue || this.pending.size === 0) return;
    const wait = Math.max(0, this.lastFlush + this.intervalMs - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.pausedValue || this.pending.size === 0) return;
      const items = this.pending.toArray();
      const dropped = this.pending.dropped;
      this.pending.clear();
      this.lastFlush = performance.now();
      this.flushes++;
      this.flush(items, dropped);
    }, wait);
  }
}

import { WatchEventDto } from '../../shared/watchProtocol';
import { RingBuffer } from '../../shared/ringBuffer';

export interface WatchFilter {
  readonly text: string;
  readonly type: 'all' | 'put' | 'delete';
}

/**
 * What the watch panel shows, without the DOM: a bounded ring of events (with a count of those dropped from
 * view), the filtered view over it, and the live event rate. The panel and the benchmark run this same code.
 */
export class WatchViewModel {
  private readonly ring: RingBuffer<WatchEventDto>;
  private filterValue: WatchFilter = { text: '', type: 'all' };
  private visible: WatchEventDto[] | undefined;
  private readonly arrivals: Array<{ t: number; n: number }> = [];
  /** Events dropped by the host before they reached this view (hidden panel past its buffer). */
  private droppedUpstream = 0;
  total = 0;

  constructor(capacity: number) {
    this.ring = new RingBuffer(capacity);
  }

  /** Applies one batch from the host. */
  apply(events: readonly WatchEventDto[], droppedUpstream = 0, now = Date.now()): void {
    this.ring.pushAll(events);
    this.total += events.length;
    this.droppedUpstream += droppedUpstream;
    this.arrivals.push({ t: now, n: events.length });
    this.visible = undefined;
  }

  clear(): void {
    this.ring.clear();
    this.droppedUpstream = 0;
    this.total = 0;
    this.visible = undefined;
  }

  setFilter(filter: WatchFilter): void {
    this.filterValue = filter;
    this.visible = undefined;
  }

  get filter(): WatchFilter {
    return this.filterValue;
  }

  /** Events dropped from view: overflowed out of the ring here or upstream. */
  get dropped(): number {
    return this.ring.dropped + this.droppedUpstream;
  }

  get size(): number {
    return this.ring.size;
  }

  /** The events that pass the filter, oldest first (cached until the next change). */
  rows(): WatchEventDto[] {
    if (!this.visible) {
      const { text, type } = this.filterValue;
      const needle = text.toLowerCase();
      this.visible = this.ring
        .toArray()
        .filter((e) => (type === 'all' || e.type === type) && (!needle || e.key.toLowerCase().includes(needle)));
    }
    return this.visible;
  }

  find(seq: number): WatchEventDto | undefined {
    for (let i = this.ring.size - 1; i >= 0; i--) {
      const e = this.ring.at(i);
      if (e?.seq === seq) return e;
    }
    return undefined;
  }

  /** Events per second over the last second. */
  rate(now = Date.now()): number {
    while (this.arrivals.length && this.arrivals[0].t < now - 1000) this.arrivals.shift();
    return this.arrivals.reduce((n, a) => n + a.n, 0);
  }
}

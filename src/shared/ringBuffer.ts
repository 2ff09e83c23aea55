/** Fixed-capacity FIFO: pushing past capacity drops the oldest items and counts them. */
export class RingBuffer<T> {
  private items: (T | undefined)[];
  private head = 0;
  private length = 0;
  /** Items dropped from the front since creation (or the last clear). */
  dropped = 0;

  constructor(private capacityValue: number) {
    this.items = new Array(Math.max(1, capacityValue));
  }

  get size(): number {
    return this.length;
  }

  get capacity(): number {
    return this.capacityValue;
  }

  push(item: T): void {
    const cap = this.items.length;
    if (this.length < cap) {
      this.items[(this.head + this.length) % cap] = item;
      this.length++;
    } else {
      this.items[this.head] = item;
      this.head = (this.head + 1) % cap;
      this.dropped++;
    }
  }

  pushAll(items: readonly T[]): void {
    for (const item of items) this.push(item);
  }

  /** Item `i` counted from the oldest. */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.length) return undefined;
    return this.items[(this.head + i) % this.items.length];
  }

  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.items[(this.head + i) % this.items.length] as T);
    return out;
  }

  clear(): void {
    this.items = new Array(this.items.length);
    this.head = 0;
    this.length = 0;
    this.dropped = 0;
  }
}

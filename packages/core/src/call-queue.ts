/**
 * FIFO of calls waiting for a worker. Removal from the middle (abort, queue
 * timeout) is O(1): the entry is marked and skipped when it reaches the head.
 */
export interface QueueEntry {
  removed: boolean;
}

export class CallQueue<T extends QueueEntry> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private live = 0;

  get size(): number {
    return this.live;
  }

  push(entry: T): void {
    this.items.push(entry);
    this.live++;
  }

  /** The oldest entry still waiting, left in place. */
  peek(): T | undefined {
    while (this.head < this.items.length) {
      const e = this.items[this.head];
      if (e && !e.removed) return e;
      this.items[this.head++] = undefined;
    }
    return undefined;
  }

  /** Take the oldest entry still waiting. */
  shift(): T | undefined {
    while (this.head < this.items.length) {
      const e = this.items[this.head];
      this.items[this.head++] = undefined;
      if (e && !e.removed) {
        this.live--;
        this.compact();
        return e;
      }
    }
    this.compact();
    return undefined;
  }

  remove(entry: T): void {
    if (entry.removed) return;
    entry.removed = true;
    this.live--;
  }

  /** The entries still waiting, oldest first (a snapshot: removing while iterating is fine). */
  entries(): T[] {
    const out: T[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const e = this.items[i];
      if (e && !e.removed) out.push(e);
    }
    return out;
  }

  /** Remove and return everything still waiting. */
  drain(): T[] {
    const out: T[] = [];
    for (let e = this.shift(); e; e = this.shift()) out.push(e);
    return out;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * A one-slot hand-over between a streamed call running in the pool and the
 * consumer's \`for await\` loop: the producer waits until each chunk is taken, so a
 * slow consumer slows the stream down instead of letting chunks pile up.
 */
export class ChunkRelay<T> {
  private readonly controller = new AbortController();
  private waiting: ((v: IteratorResult<T>) => void) | undefined;
  private failWaiting: ((e: unknown) => void) | undefined;
  private buffered: { value: T; ack: () => void } | undefined;
  private ended = false;
  private error: unknown;

  get stopSignal(): AbortSignal {
    return this.controller.signal;
  }

  /** Called by the producer; resolves when the consumer has taken the chunk. */
  put(value: T): Promise<void> {
    return new Promise((ack) => {
      if (this.controller.signal.aborted) return ack();
      const w = this.waiting;
      if (w) {
        this.waiting = undefined;
        this.failWaiting = undefined;
        w({ value, done: false });
        ack();
      } else {
        this.buffered = { value, ack };
      }
    });
  }

  take(): Promise<IteratorResult<T>> {
    if (this.buffered) {
      const { value, ack } = this.buffered;
      this.buffered = undefined;
      ack();
      return Promise.resolve({ value, done: false });
    }
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  end(): void {
    this.ended = true;
    this.waiting?.({ value: undefined, done: true });
    this.waiting = undefined;
  }

  fail(err: unknown): void {
    this.error = err ?? new Error("stream failed");
    this.failWaiting?.(this.error);
    this.waiting = undefined;
    this.failWaiting = undefined;
  }

  stop(): void {
    if (!this.controller.signal.aborted) this.controller.abort(new Error("the consumer stopped reading the stream"));
    this.buffered?.ack();
    this.buffered = undefined;
  }
}

// Store writes that synchronous callbacks start (the agent's events, setup log lines, usage,
// history) without awaiting them: run one after another in call order, so the events keep the
// order the agent made them in, and awaited by the run before it records its end.
export class WriteChain {
  private tail: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  add(write: () => Promise<unknown>): void {
    this.tail = this.tail.then(write).then(
      () => undefined,
      (error: unknown) => {
        this.failure ??= { error };
      },
    );
  }

  /** Waits for every write added so far; never throws. */
  settled(): Promise<void> {
    return this.tail;
  }

  /** Waits for every write added so far and throws the first one that failed. */
  async flush(): Promise<void> {
    await this.tail;
    if (this.failure) throw this.failure.error;
  }
}

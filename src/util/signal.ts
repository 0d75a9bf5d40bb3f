// A tiny typed event emitter shaped like vscode.Event, so the model and the stream stay free of the
// `vscode` module (and are testable in plain Node) while views subscribe to them like to any event.

export interface Disposable {
  dispose(): void;
}

export type Listener<T> = (value: T) => void;
export type Event<T> = (listener: Listener<T>) => Disposable;

export class Signal<T> implements Disposable {
  private readonly listeners = new Set<Listener<T>>();

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(value: T): void {
    // A listener that throws must not keep the others from hearing about the change.
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}

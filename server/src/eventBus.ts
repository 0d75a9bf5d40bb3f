// Live fan-out of events that the store has already committed. Listeners must not throw or block;
// slow consumers (WebSocket clients) handle their own backpressure by re-reading the store.
import type { TaskEvent } from '../../protocol';

export type EventListener = (event: TaskEvent) => void;

export class EventBus {
  private readonly listeners = new Set<EventListener>();

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(events: readonly TaskEvent[]): void {
    for (const event of events) {
      for (const listener of this.listeners) listener(event);
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}

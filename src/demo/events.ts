/** The demo's event log: the last few things that happened (a backend stopped, connections terminated). */

export interface DemoEvent {
  /** `Date.now()` when it happened. */
  readonly time: number
  readonly message: string
}

export class EventLog {
  readonly #events: DemoEvent[] = []
  readonly #limit: number
  readonly #listeners = new Set<(event: DemoEvent) => void>()

  /** Keeps the last `limit` events. Default 50. */
  constructor(limit = 50) {
    this.#limit = limit
  }

  add(message: string): DemoEvent {
    const event = Object.freeze({ time: Date.now(), message })
    this.#events.push(event)
    if (this.#events.length > this.#limit) this.#events.shift()
    for (const listener of this.#listeners) listener(event)
    return event
  }

  /** Calls `listener` for every event from now on; returns a function that stops it. */
  subscribe(listener: (event: DemoEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Oldest first. */
  list(): readonly DemoEvent[] {
    return Object.freeze([...this.#events])
  }
}

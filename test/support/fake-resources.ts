/**
 * Test doubles for pool tests: a fake resource factory whose creates can be slowed, failed or stalled,
 * which records every resource it made and destroyed; and a hand-driven clock.
 */
import { setTimeout as sleep } from 'node:timers/promises'

/** A resource made by {@link createFakeFactory}. */
export interface Fake {
  /** 1 for the first resource the factory made, then 2, 3, ... */
  readonly id: number
  /** What `validate` answers; change it with `setHealthy`. */
  healthy: boolean
  /** Set once the pool's `destroy` callback ran for it. */
  destroyed: boolean
}

export interface FakeFactoryOptions {
  /** How long each `create()` takes. Default 0 (resolves on the next tick). */
  createDelayMs?: number
  /** How long each `destroy()` takes. Default 0. */
  destroyDelayMs?: number
  /** `destroy()` never settles (a hung driver). Default false. */
  destroyHangs?: boolean
  /** How long each `validate()` takes. Default 0. */
  validateDelayMs?: number
}

export interface FakeFactory {
  /** Pass as the pool's `create`. Honours its signal: an aborted create rejects with the signal's reason. */
  readonly create: (signal: AbortSignal) => Promise<Fake>
  /** Pass as the pool's `destroy`. */
  readonly destroy: (fake: Fake) => Promise<void>
  /** Pass as the pool's `validate`: answers `fake.healthy`. */
  readonly validate: (fake: Fake, signal: AbortSignal) => Promise<boolean>
  /** Every resource made, in order. */
  readonly created: Fake[]
  /** Every resource whose destroy callback was called, in order. */
  readonly destroyed: Fake[]
  /** The signal of every `create()` call, in call order (failed and stalled ones included). */
  readonly createSignals: AbortSignal[]
  /** Calls of `create()`, `destroy()` and `validate()` so far. */
  readonly calls: { create: number; destroy: number; validate: number }
  /** Resources made and not destroyed. */
  live(): number
  /** The next `n` creates reject with `err` (default `new Error('fake create failed')`). */
  failNext(n: number, err?: unknown): void
  /** The next `n` creates never settle, unless their signal aborts (then they reject with its reason). */
  stallNext(n: number): void
  /** Sets what `validate` answers for `fake`. */
  setHealthy(fake: Fake, healthy: boolean): void
}

/** A fake resource factory with controllable create delay, failures and stalls. */
export function createFakeFactory(options: FakeFactoryOptions = {}): FakeFactory {
  const created: Fake[] = []
  const destroyed: Fake[] = []
  const createSignals: AbortSignal[] = []
  const calls = { create: 0, destroy: 0, validate: 0 }
  const failures: unknown[] = []
  let stalls = 0
  let nextId = 1

  const create = async (signal: AbortSignal): Promise<Fake> => {
    calls.create++
    createSignals.push(signal)
    if (failures.length > 0) throw failures.shift()
    if (stalls > 0) {
      stalls--
      await untilAborted(signal)
    }
    if (options.createDelayMs) await delay(options.createDelayMs, signal)
    if (signal.aborted) throw signal.reason
    const fake: Fake = { id: nextId++, healthy: true, destroyed: false }
    created.push(fake)
    return fake
  }

  const destroy = async (fake: Fake): Promise<void> => {
    calls.destroy++
    fake.destroyed = true
    destroyed.push(fake)
    if (options.destroyHangs) await new Promise<never>(() => {})
    if (options.destroyDelayMs) await sleep(options.destroyDelayMs)
  }

  const validate = async (fake: Fake, signal: AbortSignal): Promise<boolean> => {
    calls.validate++
    if (options.validateDelayMs) await delay(options.validateDelayMs, signal)
    return fake.healthy
  }

  return {
    create,
    destroy,
    validate,
    created,
    destroyed,
    createSignals,
    calls,
    live: () => created.filter((f) => !f.destroyed).length,
    failNext(n, err = new Error('fake create failed')) {
      for (let i = 0; i < n; i++) failures.push(err)
    },
    stallNext(n) {
      stalls += n
    },
    setHealthy(fake, healthy) {
      fake.healthy = healthy
    },
  }
}

/** Resolves after `ms`, or rejects with the signal's reason if it aborts first. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return Promise.race([sleep(ms), untilAborted(signal)])
}

/** Rejects with the signal's reason once it aborts; never settles otherwise. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason)
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
}

/** A clock the test moves by hand; pass `clock.now` as the pool's `clock` option. */
export interface ManualClock {
  readonly now: () => number
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void
  /** Sets the clock to `ms`. */
  set(ms: number): void
}

export function createManualClock(start = 0): ManualClock {
  let t = start
  return {
    now: () => t,
    advance(ms) {
      t += ms
    },
    set(ms) {
      t = ms
    },
  }
}

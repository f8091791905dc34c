/** A node of a {@link WaiterQueue}. The queue owns `slot`. */
export interface QueueNode {
  /**
   * Position in the queue's ring, meaningful while the node is queued. A node is queued exactly
   * when the ring holds it at that position, so no separate flag is kept.
   */
  slot: number
}

/**
 * A FIFO on a growable ring buffer: O(1) push, shift, unshift, and removal from the middle (an
 * aborted or timed-out waiter leaves at once, so it can never be handed a resource later; its slot
 * becomes a hole that `head` skips). Cheaper per operation than a linked list, which matters on
 * the pool's hottest path.
 */
export class WaiterQueue<N extends QueueNode> {
  #ring: (N | undefined)[] = new Array(16)
  #mask = 15
  /** Absolute positions; the ring index is `position & mask`. */
  #first = 0
  #end = 0
  #size = 0

  get size(): number {
    return this.#size
  }

  /** The oldest node still queued, skipping holes left by removals. */
  get head(): N | undefined {
    if (this.#size === 0) return undefined
    const ring = this.#ring
    for (;;) {
      const n = ring[this.#first & this.#mask]
      if (n !== undefined) return n
      this.#first++
    }
  }

  push(node: N): void {
    if (this.#end - this.#first === this.#ring.length) this.#grow()
    node.slot = this.#end
    this.#ring[this.#end++ & this.#mask] = node
    this.#size++
  }

  /** Puts a node back at the front (a waiter whose resource failed validation keeps its turn). */
  unshift(node: N): void {
    if (this.#end - this.#first === this.#ring.length) this.#grow()
    node.slot = --this.#first
    this.#ring[node.slot & this.#mask] = node
    this.#size++
  }

  /** Removes a node if it is queued here; a no-op for one that is not (already removed, or never queued). */
  remove(node: N): void {
    const at = node.slot & this.#mask
    if (this.#ring[at] !== node) return
    this.#ring[at] = undefined
    if (--this.#size === 0) this.#first = this.#end
    else if (node.slot === this.#first) this.#first++
  }

  shift(): N | undefined {
    const node = this.head
    if (node !== undefined) this.remove(node)
    return node
  }

  /** Nodes in queue order; a copy, so callers may remove nodes while going through it. */
  toArray(): N[] {
    const out: N[] = []
    for (let i = this.#first; i < this.#end; i++) {
      const n = this.#ring[i & this.#mask]
      if (n !== undefined) out.push(n)
    }
    return out
  }

  #grow(): void {
    const old = this.#ring
    const next: (N | undefined)[] = new Array(old.length * 2)
    const mask = next.length - 1
    let end = 0
    for (let i = this.#first; i < this.#end; i++) {
      const n = old[i & this.#mask]
      if (n === undefined) continue
      n.slot = end
      next[end++ & mask] = n
    }
    this.#ring = next
    this.#mask = mask
    this.#first = 0
    this.#end = end
  }
}

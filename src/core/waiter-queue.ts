/** A node of a {@link WaiterQueue}. The queue owns `prev`, `next` and `queued`. */
export interface QueueNode<N extends QueueNode<N>> {
  prev: N | undefined
  next: N | undefined
  queued: boolean
}

/**
 * An intrusive doubly-linked FIFO: O(1) push, shift, unshift and removal from the middle (an
 * aborted or timed-out waiter leaves at once, so it can never be handed a resource later).
 */
export class WaiterQueue<N extends QueueNode<N>> {
  #head: N | undefined
  #tail: N | undefined
  #size = 0

  get size(): number {
    return this.#size
  }

  get head(): N | undefined {
    return this.#head
  }

  push(node: N): void {
    node.prev = this.#tail
    node.next = undefined
    if (this.#tail) this.#tail.next = node
    else this.#head = node
    this.#tail = node
    node.queued = true
    this.#size++
  }

  /** Puts a node back at the front (a waiter whose resource failed validation keeps its turn). */
  unshift(node: N): void {
    node.next = this.#head
    node.prev = undefined
    if (this.#head) this.#head.prev = node
    else this.#tail = node
    this.#head = node
    node.queued = true
    this.#size++
  }

  remove(node: N): void {
    if (!node.queued) return
    if (node.prev) node.prev.next = node.next
    else this.#head = node.next
    if (node.next) node.next.prev = node.prev
    else this.#tail = node.prev
    node.prev = node.next = undefined
    node.queued = false
    this.#size--
  }

  shift(): N | undefined {
    const node = this.#head
    if (node) this.remove(node)
    return node
  }
}

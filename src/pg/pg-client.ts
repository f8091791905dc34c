import pg from 'pg'
import type { PgClientConfig } from './config.js'
import { toPgError } from './pg-error.js'

/**
 * Opens a node-postgres client. An `'error'` listener is attached before anything else and stays
 * for the client's life: an error on an idle connection is reported to `onBroken` (which takes it
 * out of the pool) and can never crash the process, pg-pool's most reported failure.
 */
export async function openClient(
  config: PgClientConfig,
  signal: AbortSignal,
  onBroken: (client: pg.Client, err: unknown) => void,
  beforeConnect?: (client: pg.Client) => void,
): Promise<pg.Client> {
  const client = new pg.Client(config)
  client.on('error', (err) => onBroken(client, err))
  beforeConnect?.(client)
  const onAbort = () => {
    void client.end().catch(noop)
  }
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    await client.connect()
  } catch (err) {
    throw signal.aborted ? signal.reason : toPgError(err)
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
  if (signal.aborted) {
    // connected just as the pool gave up on it
    void client.end().catch(noop)
    throw signal.reason
  }
  return client
}

/** A round trip to check that the connection is alive. */
export async function pingClient(client: pg.Client): Promise<void> {
  await client.query(';')
}

/** How long a polite end may take before the socket is cut. */
const END_GRACE_MS = 1000

/**
 * Ends a client politely (Terminate message), or cuts its socket when that does not finish
 * within a second: node-postgres in pipeline mode waits for a query in flight (a ping lost in a
 * blackhole, say) before it sends Terminate, and would otherwise keep the socket, and the
 * server's backend, open forever.
 */
export async function endClient(client: pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const ended = client.end().then(
    () => true,
    () => true,
  )
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), END_GRACE_MS)
    timer.unref()
  })
  try {
    if (!(await Promise.race([ended, late]))) breakClient(client)
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Cuts a client's socket so that anything waiting on it ends at once (a query that ignored its
 * cancel). The client then errors and the pool drops it.
 */
export function breakClient(client: pg.Client): void {
  client.connection.stream.destroy() // the socket, in node-postgres' typed API
}

function noop(): void {}

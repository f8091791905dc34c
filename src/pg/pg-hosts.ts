/**
 * Connecting to one server of a host list, as libpq does: the hosts are tried in order (or
 * shuffled, with `load_balance_hosts=random`), and a connection is kept only when the server's
 * session matches `target_session_attrs`. The role is read from the `in_hot_standby` and
 * `default_transaction_read_only` ParameterStatus messages PostgreSQL 14+ sends at startup, and
 * from a query on older servers.
 */
import type pg from 'pg'
import type { PgClientConfig, PgHost, PgTargetSessionAttrs } from './config-types.js'
import { endClient, openClient } from './pg-client.js'
import { PgConnectionError } from './pg-error.js'

/** What decides a session's fit: is the server a hot standby, and is the session read-only. */
export interface SessionRole {
  readonly hotStandby: boolean
  readonly readOnly: boolean
}

/** Whether a session of `role` satisfies `want` (libpq's rules; `prefer-standby` is two passes). */
export function sessionMatches(
  role: SessionRole,
  want: Exclude<PgTargetSessionAttrs, 'prefer-standby'>,
): boolean {
  switch (want) {
    case 'any':
      return true
    case 'read-write':
      return !role.readOnly
    case 'read-only':
      return role.readOnly
    case 'primary':
      return !role.hotStandby
    case 'standby':
      return role.hotStandby
  }
}

export interface HostChoice {
  readonly hosts: readonly PgHost[]
  readonly targetSessionAttrs: PgTargetSessionAttrs
  readonly loadBalanceHosts: 'disable' | 'random'
}

/**
 * A connected client on the first host (in libpq's order) whose session matches
 * `targetSessionAttrs`; the others tried are ended.
 * @throws PgConnectionError naming every host tried and why it was passed over (`cause`: the
 *   errors); the signal's reason once it aborts
 */
export async function connectToTarget(
  base: PgClientConfig,
  choice: HostChoice,
  signal: AbortSignal,
  onBroken: (client: pg.Client, err: unknown) => void,
  random: () => number = Math.random,
): Promise<pg.Client> {
  const order = choice.loadBalanceHosts === 'random' ? shuffled(choice.hosts, random) : choice.hosts
  const want = choice.targetSessionAttrs
  const passes = want === 'prefer-standby' ? (['standby', 'any'] as const) : ([want] as const)
  const reasons: string[] = []
  const errors: unknown[] = []
  for (const pass of passes) {
    for (const h of order) {
      if (signal.aborted) throw signal.reason
      const params = new Map<string, string>()
      const config: PgClientConfig = Object.create(base, {
        host: { value: h.host, enumerable: true },
        port: { value: h.port, enumerable: true },
      })
      let client: pg.Client
      try {
        // Only a pass that checks the role needs the ParameterStatus messages.
        const listen = pass === 'any' ? undefined : (c: pg.Client) => listenForParameters(c, params)
        client = await openClient(config, signal, onBroken, listen)
      } catch (err) {
        if (signal.aborted) throw signal.reason
        reasons.push(`${h.host}:${h.port}: ${(err as Error).message}`)
        errors.push(err)
        continue
      }
      if (pass === 'any') return client
      let role: SessionRole
      try {
        role = await roleOf(client, params)
      } catch (err) {
        await endClient(client)
        reasons.push(`${h.host}:${h.port}: cannot tell its role (${(err as Error).message})`)
        errors.push(err)
        continue
      }
      if (sessionMatches(role, pass)) return client
      await endClient(client)
      reasons.push(
        `${h.host}:${h.port}: ${role.hotStandby ? 'a standby' : role.readOnly ? 'read-only' : 'read-write'}`,
      )
    }
  }
  // One host that could not be reached: its own error, as a single-host connect has always given.
  if (errors.length === 1 && reasons.length === 1) throw errors[0]
  throw new PgConnectionError(
    `no host matches target_session_attrs=${want} (${reasons.join('; ')})`,
    errors.length === 1 ? errors[0] : new AggregateError(errors, 'every host failed or did not match'),
  )
}

/** Collects the ParameterStatus messages of a connecting client. */
function listenForParameters(client: pg.Client, into: Map<string, string>): void {
  const connection = (client as unknown as { connection?: NodeJS.EventEmitter }).connection
  connection?.on('parameterStatus', (msg: { parameterName: string; parameterValue: string }) => {
    into.set(msg.parameterName, msg.parameterValue)
  })
}

/** The session's role: from ParameterStatus (PostgreSQL 14+), else asked. */
async function roleOf(client: pg.Client, params: ReadonlyMap<string, string>): Promise<SessionRole> {
  const hotStandby = params.get('in_hot_standby')
  const readOnlyDefault = params.get('default_transaction_read_only')
  if (hotStandby !== undefined && readOnlyDefault !== undefined) {
    return { hotStandby: hotStandby === 'on', readOnly: hotStandby === 'on' || readOnlyDefault === 'on' }
  }
  const { rows } = await client.query<{ standby: boolean; ro: string }>(
    "select pg_is_in_recovery() as standby, current_setting('transaction_read_only') as ro",
  )
  const row = rows[0]!
  return { hotStandby: row.standby, readOnly: row.standby || row.ro === 'on' }
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

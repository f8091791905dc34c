/**
 * The options of `createPgCluster`: which servers (a libpq multi-host string, or a primary and its
 * replicas), the cluster's own settings (lag limit, probe period, failover wait), and the pool
 * options every host's pool shares.
 */
import { type OptionErrorFactory, option, readOptions } from '../core/option-table.js'
import type { PgHost } from './config-types.js'
import { resolvePgConfig } from './config.js'
import { PgConfigError } from './errors.js'
import { type PgPoolOptions, pgDuration } from './pg-pool-options.js'

/** Options of `createPgCluster`: every host's pool options, plus the cluster's own. */
export interface PgClusterOptions extends PgPoolOptions {
  /**
   * A replica further behind the primary than this (ms or a duration string) leaves read rotation
   * until it catches up. Default 10 s.
   */
  maxReplicaLag?: number | string
  /** How often each host's role and replay position are probed (ms or a duration). Default 1 s. */
  probePeriod?: number | string
  /** How long one probe of one host may take before the host counts as down. Default 2 s. */
  probeTimeout?: number | string
  /**
   * How long a call for the primary waits while there is none (a failover) before it fails with
   * PgNoPrimaryError, unless its own signal or `timeoutMs` ends the wait first. Default 30 s.
   */
  failoverTimeout?: number | string
}

/** A server given on its own: a connection string or the options of one host. */
export type PgClusterServer = string | PgPoolOptions

/** What `createPgCluster` connects to: a multi-host string, or a primary and its replicas. */
export type PgClusterInput =
  | string
  | { readonly primary: PgClusterServer; readonly replicas?: readonly PgClusterServer[] }

/** One host of the cluster and how to build its pool. */
export interface ClusterHostSpec extends PgHost {
  /** `host:port`: how errors, stats and metrics name it. */
  readonly key: string
  /** What the configuration said it is (a multi-host string says nothing). */
  readonly declared: 'primary' | 'replica' | undefined
  /** The arguments of its PgPool. */
  readonly input: string | PgPoolOptions | undefined
  readonly options: PgPoolOptions
}

export interface ResolvedPgClusterOptions {
  readonly name: string
  readonly hosts: readonly ClusterHostSpec[]
  readonly maxReplicaLagMs: number
  readonly probePeriodMs: number
  readonly probeTimeoutMs: number
  readonly failoverTimeoutMs: number
  /** `load_balance_hosts=random`: equally loaded replicas are picked at random, else in order. */
  readonly randomTies: boolean
}

const CLUSTER_OPTIONS = {
  maxReplicaLag: option(pgDuration, 10_000),
  probePeriod: option(pgDuration, 1_000),
  probeTimeout: option(pgDuration, 2_000),
  failoverTimeout: option(pgDuration, 30_000),
} as const
const CLUSTER_KEYS = new Set(Object.keys(CLUSTER_OPTIONS))

const pgError: OptionErrorFactory = (o, value, expected) => new PgConfigError(o, value, expected)

/** Sessions the cluster's write path can honour: it always writes to the primary. */
const WRITE_TARGETS = new Set(['any', 'read-write', 'primary'])

/**
 * Splits and checks the options; the host pools' own options are checked when they are built.
 * @throws PgConfigError naming the option or server at fault
 */
export function resolvePgClusterOptions(
  input: PgClusterInput,
  options: PgClusterOptions = {},
): ResolvedPgClusterOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new PgConfigError('options', options, 'an object of createPgCluster options')
  }
  const own: Record<string, unknown> = {}
  const shared: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(options)) {
    if (k !== 'name') (CLUSTER_KEYS.has(k) ? own : shared)[k] = v
  }
  const o = readOptions(CLUSTER_OPTIONS, own, { of: 'createPgCluster', error: pgError })
  const name = options.name ?? 'pg-cluster'
  if (typeof name !== 'string' || name === '') throw new PgConfigError('name', name, 'a non-empty string')
  const { hosts, randomTies } = hostSpecs(input, shared as PgPoolOptions, name)
  const keys = new Set<string>()
  for (const h of hosts) {
    if (keys.has(h.key)) throw new PgConfigError('host', h.key, 'each server once: this one is named twice')
    keys.add(h.key)
  }
  return {
    name,
    hosts,
    maxReplicaLagMs: o.maxReplicaLag,
    probePeriodMs: o.probePeriod,
    probeTimeoutMs: o.probeTimeout,
    failoverTimeoutMs: o.failoverTimeout,
    randomTies,
  }
}

function hostSpecs(
  input: PgClusterInput,
  shared: PgPoolOptions,
  name: string,
): { hosts: ClusterHostSpec[]; randomTies: boolean } {
  if (typeof input === 'string') {
    const config = resolvePgConfig(input, shared)
    if (!WRITE_TARGETS.has(config.targetSessionAttrs)) {
      throw new PgConfigError(
        'target_session_attrs',
        config.targetSessionAttrs,
        'any, read-write or primary: a cluster writes to the primary and reads through db.read (createPgPool takes the others)',
      )
    }
    return {
      hosts: config.hosts.map((h) => spec(h, undefined, input, shared, name)),
      randomTies: config.loadBalanceHosts === 'random',
    }
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input) || !('primary' in input)) {
    throw new PgConfigError(
      'input',
      input,
      "a multi-host connection string, or { primary, replicas } (each a connection string or a host's options)",
    )
  }
  const replicas = input.replicas ?? []
  if (!Array.isArray(replicas)) {
    throw new PgConfigError('replicas', replicas, 'an array of connection strings or host options')
  }
  const servers: [PgClusterServer, 'primary' | 'replica', string][] = [
    [input.primary, 'primary', 'primary'],
    ...replicas.map((r, i): [PgClusterServer, 'replica', string] => [r, 'replica', `replicas[${i}]`]),
  ]
  const hosts = servers.map(([server, declared, field]) => {
    if (
      typeof server !== 'string' &&
      (server === null || typeof server !== 'object' || Array.isArray(server))
    ) {
      throw new PgConfigError(field, server, 'a connection string or the options of one host')
    }
    const config =
      typeof server === 'string' ? resolvePgConfig(server, shared) : resolvePgConfig({ ...shared, ...server })
    if (config.hosts.length !== 1) {
      throw new PgConfigError(
        field,
        config.hosts.map((h) => `${h.host}:${h.port}`).join(','),
        'one host (list several as replicas, or pass one multi-host string)',
      )
    }
    const own = typeof server === 'string' ? shared : { ...shared, ...server }
    return spec(config.hosts[0]!, declared, typeof server === 'string' ? server : undefined, own, name)
  })
  return { hosts, randomTies: false }
}

function spec(
  h: PgHost,
  declared: 'primary' | 'replica' | undefined,
  input: string | undefined,
  options: PgPoolOptions,
  cluster: string,
): ClusterHostSpec {
  const key = `${h.host}:${h.port}`
  return {
    host: h.host,
    port: h.port,
    key,
    declared,
    input,
    options: {
      ...options,
      name: `${cluster}@${key}`,
      host: h.host,
      port: h.port,
      targetSessionAttrs: 'any',
      loadBalanceHosts: 'disable',
    },
  }
}

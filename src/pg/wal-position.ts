/**
 * WAL positions (LSNs) as PostgreSQL prints them, `'16/B374D848'`: the high and low 32 bits in hex.
 * A read-your-writes token is one of these: the primary's WAL insert position after a write.
 */
import { InvalidOptionError } from '../core/errors.js'

/** A WAL position (`pg_lsn`) as PostgreSQL prints it, `'X/Y'`. */
export type WalPosition = string

const LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/

/** Whether `value` is a WAL position string. */
export function isWalPosition(value: unknown): value is WalPosition {
  return typeof value === 'string' && LSN.test(value)
}

/**
 * The byte offset of a WAL position.
 * @throws InvalidOptionError naming `option` when `value` is not an `'X/Y'` LSN
 */
export function walBytes(value: unknown, option = 'after'): bigint {
  const m = typeof value === 'string' ? LSN.exec(value) : null
  if (m === null) throw new InvalidOptionError(option, value, "a WAL position like '0/3000148' (pg_lsn)")
  return (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`)
}

/** `a - b` in bytes, as a number (positions are far below 2^53 apart in practice). */
export function walDistance(a: bigint, b: bigint): number {
  return Number(a - b)
}

/**
 * xds: targets are resolved by @grpc/grpc-js-xds, an optional package berth never requires: it
 * is imported (and its resolver registered with grpc-js) the first time a pool needs it.
 */
import { InvalidTargetError } from './errors.js'

let xdsLoaded: Promise<void> | undefined

/** Registers the xds: scheme from @grpc/grpc-js-xds, once. */
export function loadXds(target: string): Promise<void> {
  xdsLoaded ??= import('@grpc/grpc-js-xds' as string).then(
    (m: { register?: () => void }) => m.register?.(),
    (err: unknown) => {
      xdsLoaded = undefined
      throw new InvalidTargetError(
        target,
        `xds: targets need @grpc/grpc-js-xds installed (${(err as Error).message})`,
      )
    },
  )
  return xdsLoaded
}

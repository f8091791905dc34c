/**
 * The servers of `npm run bench:grpc`, in a process of their own so that the client side, which
 * is what the benchmark compares, has its core to itself. Prints one JSON line with the ports:
 * `{ "open": <port>, "limited": <port> }` (`limited` advertises MAX_CONCURRENT_STREAMS 10), then
 * serves until stdin closes or it is signalled.
 */
import { startEchoServer } from '../test/support/grpc.js'

const open = await startEchoServer({ id: 'open' })
const limited = await startEchoServer({ id: 'limited', serverOptions: { 'grpc.max_concurrent_streams': 10 } })
process.stdout.write(`${JSON.stringify({ open: open.port, limited: limited.port })}\n`)

const stop = () => {
  open.kill()
  limited.kill()
  process.exit(0)
}
process.stdin.on('end', stop)
process.stdin.on('close', stop)
process.stdin.resume()
process.on('SIGTERM', stop)
process.on('SIGINT', stop)

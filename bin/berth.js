#!/usr/bin/env node
// The `berth` command. It runs the compiled CLI in dist/, which `npm install` builds (the
// package's `prepare` script) and the published package ships.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const entry = new URL('../dist/cli/main.js', import.meta.url)

if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(
    'berth: the CLI is not built (dist/cli/main.js is missing).\n' +
      'Run `npm run build` in the berth package (or `npm install`, which builds it), then try again.\n',
  )
  process.exit(70)
}

const { main } = await import(entry.href)
await main(process.argv.slice(2))

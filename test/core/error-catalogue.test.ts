import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { BERTH_ERROR_CODES, BERTH_WARNING_CODES, BerthError } from '../../src/core/errors.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const CODE_LITERAL = /'(BERTH_[A-Z_]+)'/g

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith('.ts') ? [full] : []
  })
}

const sources = sourceFiles(path.join(root, 'src')).map((file) => ({
  file: path.relative(root, file),
  text: readFileSync(file, 'utf8'),
}))

/** The source with the two code lists of core's errors.ts cut out, so that a listed code must also be used. */
function withoutTheLists(text: string): string {
  return text.replace(
    /export const BERTH_(?:ERROR|WARNING)_CODES = Object\.freeze\(\[[^\]]*\] as const\)/g,
    '',
  )
}

function codesUsed(): Map<string, string[]> {
  const used = new Map<string, string[]>()
  for (const { file, text } of sources) {
    for (const match of withoutTheLists(text).matchAll(CODE_LITERAL)) {
      used.set(match[1]!, [...(used.get(match[1]!) ?? []), file])
    }
  }
  return used
}

/** The README's "## Errors" section: the error table before "### Process warnings", the warning table after. */
function readmeTables(): { errors: string[][]; warnings: string[][] } {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8')
  const start = readme.indexOf('\n## Errors\n')
  assert.ok(start >= 0, 'the README has an "## Errors" section')
  const rest = readme.slice(start + 1)
  const end = rest.indexOf('\n## ', 1)
  const section = end < 0 ? rest : rest.slice(0, end)
  const split = section.indexOf('\n### Process warnings\n')
  assert.ok(split >= 0, 'the Errors section has a "### Process warnings" table')
  const rows = (text: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith('| `BERTH_'))
      .map((line) =>
        line
          .slice(1, -1)
          .split(' | ')
          .map((cell) => cell.trim()),
      )
  return { errors: rows(section.slice(0, split)), warnings: rows(section.slice(split)) }
}

const sorted = (codes: Iterable<string>) => [...new Set(codes)].sort()
const unquote = (cell: string) => cell.replace(/`/g, '')

describe('the error catalogue', () => {
  it('every BERTH_ code quoted anywhere in src/ is listed as an error or a warning code', () => {
    const listed = new Set<string>([...BERTH_ERROR_CODES, ...BERTH_WARNING_CODES])
    const unlisted = [...codesUsed()].filter(([code]) => !listed.has(code))
    assert.deepEqual(
      unlisted.map(([code, files]) => `${code} (${files.join(', ')})`),
      [],
      'add these to BERTH_ERROR_CODES or BERTH_WARNING_CODES in src/core/errors.ts',
    )
  })

  it('every listed code is used somewhere in src/ besides the list itself', () => {
    const used = codesUsed()
    assert.deepEqual(
      [...BERTH_ERROR_CODES, ...BERTH_WARNING_CODES].filter((code) => !used.has(code)),
      [],
    )
  })

  it('the lists are frozen and hold no code twice', () => {
    assert.ok(Object.isFrozen(BERTH_ERROR_CODES))
    assert.ok(Object.isFrozen(BERTH_WARNING_CODES))
    assert.equal(new Set(BERTH_ERROR_CODES).size, BERTH_ERROR_CODES.length)
    assert.equal(new Set(BERTH_WARNING_CODES).size, BERTH_WARNING_CODES.length)
  })

  it('no file of src/ makes a BerthError directly: every code has its class', () => {
    const adHoc = sources.filter(({ text }) => /new BerthError\(/.test(text)).map(({ file }) => file)
    assert.deepEqual(adHoc, [])
  })

  it('BerthError takes only a catalogued code', () => {
    // @ts-expect-error a code outside BERTH_ERROR_CODES does not type-check (npm run typecheck)
    const err = new BerthError('BERTH_NOT_A_CODE', 'x')
    assert.ok(err instanceof Error)
  })

  it("the README's error table lists exactly the error codes, each once", () => {
    const { errors } = readmeTables()
    const codes = errors.map((row) => unquote(row[0]!))
    assert.equal(new Set(codes).size, codes.length, 'no code twice')
    assert.deepEqual(sorted(codes), sorted(BERTH_ERROR_CODES))
  })

  it("the README's warning table lists exactly the warning codes, each once", () => {
    const { warnings } = readmeTables()
    const codes = warnings.map((row) => unquote(row[0]!))
    assert.equal(new Set(codes).size, codes.length, 'no code twice')
    assert.deepEqual(sorted(codes), sorted(BERTH_WARNING_CODES))
  })

  it('every row of the error table has a class, an entry point, a when and a what to do', () => {
    for (const row of readmeTables().errors) {
      assert.equal(row.length, 5, row.join(' | '))
      for (const cell of row) assert.notEqual(cell, '', row.join(' | '))
    }
  })

  it("each class the error table names for an entry point is exported there, is a BerthError, and its source uses the row's code", async () => {
    const modules: Record<string, string> = {
      '`berth`': '../../src/core/index.js',
      '`berth/pg`': '../../src/pg/index.js',
      '`berth/grpc`': '../../src/grpc/index.js',
      '`berth/metrics`': '../../src/metrics/index.js',
      '`berth/testing`': '../../src/testing/index.js',
    }
    const classSource = (name: string) =>
      sources.find(({ text }) => new RegExp(`export class ${name}\\b`).test(text))
    const classBody = (name: string) => {
      const text = classSource(name)?.text ?? ''
      const rest = text.slice(new RegExp(`export class ${name}\\b`).exec(text)?.index ?? text.length)
      return rest.slice(0, rest.indexOf('\n}\n'))
    }
    /** The class (or a base class) names the code, or (a family class such as FaultProxyError) is given it where it is made. */
    const carries = (name: string, code: string): boolean => {
      if (classBody(name).includes(`'${code}'`)) return true
      if (sources.some(({ text }) => new RegExp(`new ${name}\\(\\s*'${code}'`).test(text))) return true
      const parent = /^export class \w+ extends (\w+)/.exec(classBody(name))?.[1]
      return parent !== undefined && parent !== 'BerthError' && carries(parent, code)
    }
    for (const [codeCell, classCell, entryCell] of readmeTables().errors) {
      const code = unquote(codeCell!)
      const classes = classCell!.split(', ').map(unquote)
      const entries = entryCell!.split(', ').map((e) => e.replace(/ \(internal\)$/, ''))
      for (const name of classes) {
        assert.ok(classSource(name), `${code}: no exported class ${name} in src/`)
        assert.ok(carries(name, code), `${code}: class ${name} does not carry it`)
        const exportedBy = entries.filter((e) => modules[e] !== undefined)
        if (exportedBy.length === 0 || entryCell!.includes('(internal)')) continue
        const found = await Promise.all(
          exportedBy.map(async (e) => (await import(modules[e]!))[name] as unknown),
        )
        const ctor = found.find((c) => c !== undefined)
        assert.ok(
          typeof ctor === 'function',
          `${code}: ${name} is not exported from ${exportedBy.join(' or ')}`,
        )
        assert.ok(ctor.prototype instanceof BerthError, `${code}: ${name} is not a BerthError`)
      }
    }
  })
})

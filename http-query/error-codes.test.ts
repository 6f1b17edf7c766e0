/** Every error code the server can answer with is in QUERY_ERROR_STATUS and documented once in the README. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { QUERY_ERROR_CODES, QUERY_ERROR_STATUS } from './error-codes.js';
import { createQueryServer } from './server.js';
import { FakeClusterData, FakeQuerySource } from './testing/fake-query-source.js';

const here = dirname(fileURLToPath(import.meta.url));
const CODE = /TRIBUTARY_QUERY_[A-Z_]+/g;

/** Codes written in the query server's sources: its modules and the QueryServerError classes in errors.ts. */
function codesInSources(): Map<string, string> {
  const found = new Map<string, string>();
  const modules = readdirSync(here, { recursive: true, encoding: 'utf8' }).filter(
    (file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && file !== 'error-codes.ts',
  );
  for (const file of modules) {
    for (const [code] of readFileSync(join(here, file), 'utf8').matchAll(CODE)) found.set(code, `http-query/${file}`);
  }
  const errors = readFileSync(join(here, '..', 'errors.ts'), 'utf8');
  const classes = [...errors.matchAll(/export class (\w+) extends QueryServerError \{([\s\S]*?)\n\}\n/g)];
  expect(classes.length).toBeGreaterThan(5);
  for (const [, name, body] of classes) for (const [code] of body.matchAll(CODE)) found.set(code, `errors.ts ${name}`);
  return found;
}

interface DocumentedRow {
  readonly status: string;
  readonly code: string;
}

/** Rows of the error table in http-query/README.md: `| status | \`CODE\` | meaning | what to do |`. */
function documentedRows(): DocumentedRow[] {
  const readme = readFileSync(join(here, 'README.md'), 'utf8');
  return [...readme.matchAll(/^\| *([0-9x]{3}) *\| *`(TRIBUTARY_QUERY_[A-Z_]+)` *\|([^|]+)\|([^|]+)\| *$/gm)].map(
    ([, status, code, meaning, action]) => {
      expect(meaning.trim(), code).not.toBe('');
      expect(action.trim(), code).not.toBe('');
      return { status, code };
    },
  );
}

describe('error codes', () => {
  it('every code in the sources is in QUERY_ERROR_STATUS, and every entry there is used', () => {
    const inSources = codesInSources();
    const unlisted = [...inSources].filter(([code]) => !(code in QUERY_ERROR_STATUS)).map(([code, where]) => `${code} (${where})`);
    expect(unlisted).toEqual([]);
    expect(QUERY_ERROR_CODES.filter((code) => !inSources.has(code))).toEqual([]);
  });

  it('every code is documented exactly once in http-query/README.md, with its status', () => {
    const rows = documentedRows();
    const counts = new Map<string, number>();
    for (const row of rows) counts.set(row.code, (counts.get(row.code) ?? 0) + 1);
    expect([...counts].filter(([, count]) => count > 1).map(([code]) => code)).toEqual([]);
    expect(QUERY_ERROR_CODES.filter((code) => !counts.has(code))).toEqual([]);
    expect(rows.filter((row) => !(row.code in QUERY_ERROR_STATUS)).map((row) => row.code)).toEqual([]);
    for (const row of rows) {
      expect(row.status, row.code).toBe(String(QUERY_ERROR_STATUS[row.code as keyof typeof QUERY_ERROR_STATUS]));
    }
  });

  it('the OpenAPI document lists the codes in the error schema', async () => {
    const server = createQueryServer({ source: new FakeQuerySource(new FakeClusterData(), 'self') });
    try {
      const doc = (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
        paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: unknown }> }> } }>;
      }>();
      const schema = doc.paths['/stores/{store}/keys/{key}'].get.responses['404'].content['application/json'].schema as {
        properties: { error: { properties: { code: { enum: string[] } } } };
      };
      expect(schema.properties.error.properties.code.enum).toEqual(QUERY_ERROR_CODES);
    } finally {
      await server.close();
    }
  });
});

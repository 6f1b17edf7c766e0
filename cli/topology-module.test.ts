import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { TopologyModuleError } from '../errors.js';
import { loadTopology } from './topology-module.js';

const dir = mkdtempSync(join(tmpdir(), 'tributary-topology-module-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const INDEX_URL = pathToFileURL(resolve(import.meta.dirname, '..', 'index.ts')).href;

/** Writes a module that builds a one-source topology with the repository's own DSL. */
function moduleFile(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `import { StreamsBuilder, Serdes } from ${JSON.stringify(INDEX_URL)};
function build(applicationId) {
  const b = new StreamsBuilder();
  b.stream('in', { key: Serdes.string(), value: Serdes.json() }).selectKey((k) => k).repartition({ name: 'rk' }).to('out');
  return b.build({ applicationId });
}
${body}
`,
  );
  return path;
}

describe('loadTopology', () => {
  it('takes a default-exported Topology', async () => {
    const topology = await loadTopology(moduleFile('default.mjs', "export default build('app-a');"));
    expect(topology.applicationId).toBe('app-a');
    expect(topology.repartitionTopics.map((r) => r.topic)).toEqual(['app-a-rk-repartition']);
  });

  it('takes a named `topology` export', async () => {
    const topology = await loadTopology(moduleFile('named.mjs', "export const topology = build('app-b');"));
    expect(topology.applicationId).toBe('app-b');
  });

  it('calls an (async) factory with the application id it is given', async () => {
    const path = moduleFile('factory.mjs', "export default async ({ applicationId = 'fallback' }) => build(applicationId);");
    expect((await loadTopology(path, { applicationId: 'given' })).applicationId).toBe('given');
    expect((await loadTopology(path)).applicationId).toBe('fallback');
  });

  it('loads TypeScript modules', async () => {
    const path = moduleFile(
      'typed.ts',
      "export default ({ applicationId }: { applicationId?: string }): ReturnType<typeof build> => build(applicationId ?? 'typed');",
    );
    expect((await loadTopology(path)).applicationId).toBe('typed');
  });

  it('explains what is wrong with a module that provides no topology', async () => {
    const cases: [string, string, RegExp][] = [
      ['none.mjs', 'export const other = 1;', /no default export and no `topology` export \(exports: other\)/],
      ['object.mjs', 'export default { applicationId: "x" };', /the export is an object with keys \[applicationId\], not a built Topology/],
      ['returns.mjs', 'export default () => 42;', /the exported function returned a number/],
      ['throws.mjs', "export default () => { throw new Error('boom'); };", /the exported function threw: boom/],
      ['syntax.mjs', 'export default (', /importing it failed/],
    ];
    for (const [name, body, message] of cases) {
      const path = join(dir, name);
      writeFileSync(path, body);
      const error = await loadTopology(path).catch((caught: unknown) => caught);
      expect(error, name).toBeInstanceOf(TopologyModuleError);
      expect((error as TopologyModuleError).message, name).toMatch(message);
      expect((error as TopologyModuleError).code).toBe('TRIBUTARY_CLI_TOPOLOGY_MODULE');
    }
  });

  it('names the path it looked at for a missing file', async () => {
    await expect(loadTopology(join(dir, 'missing.ts'))).rejects.toThrow(/no such file \(looked at .*missing\.ts\)/);
  });
});

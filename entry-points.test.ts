/**
 * The package's three faces (package.json "exports"): `tributary` for writing an application, `tributary/testing`
 * for testing one, `tributary/internals` for the building blocks. Checks the map, the split, and that test support
 * stays out of the build.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as internals from './internals.js';
import * as root from './index.js';
import * as testing from './testing.js';

const here = dirname(fileURLToPath(import.meta.url));
const readJson = <T>(file: string): T => JSON.parse(readFileSync(join(here, file), 'utf8')) as T;

interface PackageJson {
  readonly exports: Readonly<Record<string, { readonly types: string; readonly import: string }>>;
  readonly files: readonly string[];
}
interface BuildConfig {
  readonly compilerOptions: { readonly stripInternal?: boolean };
  readonly include: readonly string[];
  readonly exclude: readonly string[];
}

const ENTRY_POINTS = { '.': 'index', './testing': 'testing', './internals': 'internals' } as const;

describe('entry points', () => {
  it('package.json exports the three entry points from dist, and the build compiles each with stripInternal', () => {
    const pkg = readJson<PackageJson>('package.json');
    const build = readJson<BuildConfig>('tsconfig.build.json');
    expect(Object.keys(pkg.exports)).toEqual(Object.keys(ENTRY_POINTS));
    for (const [subpath, file] of Object.entries(ENTRY_POINTS)) {
      expect(pkg.exports[subpath]).toEqual({ types: `./dist/${file}.d.ts`, import: `./dist/${file}.js` });
      expect(build.include).toContain(`${file}.ts`);
    }
    expect(build.compilerOptions.stripInternal).toBe(true);
  });

  it('splits users, tests and building blocks', () => {
    expect(Object.keys(root)).toEqual(
      expect.arrayContaining(['StreamsBuilder', 'Serdes', 'Topology', 'TributaryApp', 'replayDeadLetters']),
    );
    expect(Object.keys(root)).toEqual(expect.arrayContaining(['TributaryError', 'TopologyBuildError', 'TestDriverOptionsError']));
    expect(Object.keys(testing).sort()).toEqual(['MemoryKeyValueStore', 'TestInputTopic', 'TestOutputTopic', 'TopologyTestDriver']);
    expect(Object.keys(internals)).toEqual(expect.arrayContaining(['StreamTask', 'GlobalTableUpdater', 'LevelKeyValueStore', 'murmur2']));
    const inRoot = new Set(Object.keys(root));
    expect([...Object.keys(testing), ...Object.keys(internals)].filter((name) => inRoot.has(name))).toEqual([]);
    expect(Object.keys(testing).filter((name) => name in internals)).toEqual([]);
  });

  it('test support (modules importing a test library) is excluded from the build and the package', () => {
    const build = readJson<BuildConfig>('tsconfig.build.json');
    const pkg = readJson<PackageJson>('package.json');
    const built = (file: string): boolean =>
      build.include.some((entry) => file === entry || file.startsWith(`${entry}/`)) &&
      !build.exclude.some((entry) => file === entry || file.startsWith(`${entry}/`)) &&
      !file.endsWith('.test.ts');
    // Every source file the build's include reaches (directories recursively).
    const sources = build.include
      .flatMap((entry) =>
        entry.endsWith('.ts')
          ? [entry]
          : readdirSync(join(here, entry), { recursive: true, encoding: 'utf8' }).map((file) => `${entry}/${file}`),
      )
      .filter((file) => file.endsWith('.ts'));
    const testSupport = sources.filter(
      (file) =>
        /^import [^;]*from '(vitest|fast-check)'/m.test(readFileSync(join(here, file), 'utf8')) ||
        /(^|\/)(test-fixtures|testing)\//.test(file),
    );
    expect(testSupport).toEqual(expect.arrayContaining(['state-store/conformance.ts', 'http-query/testing/fake-query-source.ts']));
    expect(testSupport.filter(built)).toEqual([]);
    // Excluded from the package too, should a stale build have left them in dist.
    for (const excluded of ['state-store/conformance.ts', 'state-store/test-fixtures', 'http-query/testing', 'processor/kafka/testing']) {
      expect(pkg.files).toContain(`!dist/${excluded.replace(/\.ts$/, '.*')}`);
    }
  });
});

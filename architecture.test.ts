/**
 * ARCHITECTURE.md's dependency rules, checked on every test run so they stay true: which layer may import which,
 * kafkajs only behind the processor/kafka/ port, and no import circle between source files. Test files are exempt
 * from the layer and kafkajs rules (a topology test may drive the test driver; the partitioner test compares with
 * kafkajs's own partitioner).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = dirname(fileURLToPath(import.meta.url));

type Layer =
  'common' | 'errors' | 'topology' | 'state-store' | 'engine' | 'kafka' | 'http-query' | 'test-driver' | 'dlq' | 'runtime' | 'app';

/** Layer → the layers it may import (besides itself). Everything points down; `app` (cli, entry points, examples, scripts, test) may import anything. */
const ALLOWED: Readonly<Record<Exclude<Layer, 'app'>, readonly Layer[]>> = {
  errors: [],
  common: ['errors'],
  topology: ['common', 'errors'],
  'state-store': ['common', 'errors'],
  kafka: ['common', 'errors'],
  engine: ['common', 'errors', 'topology', 'state-store'],
  'http-query': ['common', 'errors', 'topology', 'state-store'],
  'test-driver': ['common', 'errors', 'topology', 'state-store', 'engine'],
  dlq: ['common', 'errors', 'topology', 'state-store', 'engine', 'kafka'],
  runtime: ['common', 'errors', 'topology', 'state-store', 'engine', 'kafka', 'dlq', 'http-query'],
};

function layerOf(file: string): Layer {
  if (file === 'errors.ts') return 'errors';
  const [top, second] = file.split('/');
  if (top === 'processor') {
    const byFolder: Readonly<Record<string, Layer>> = {
      kafka: 'kafka',
      engine: 'engine',
      'test-driver': 'test-driver',
      dlq: 'dlq',
      runtime: 'runtime',
    };
    return byFolder[second ?? ''] ?? 'app';
  }
  if (top === 'common' || top === 'topology' || top === 'state-store' || top === 'http-query') return top;
  return 'app';
}

function sourceFiles(dir = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts') && !entry.name.endsWith('.d.mts')) out.push(path);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): { relative: string[]; packages: string[] } {
  const text = readFileSync(join(root, file), 'utf8');
  const relativeImports: string[] = [];
  const packages: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2];
    if (spec === undefined) continue;
    if (spec.startsWith('.'))
      relativeImports.push(normalize(join(dirname(file), spec)).replace(/\.(js|mjs)$/, (ext) => (ext === '.js' ? '.ts' : '.mts')));
    else packages.push(spec);
  }
  return { relative: relativeImports, packages };
}

const isTest = (file: string) => /\.test\.ts$/.test(file) || file.startsWith('test/');
const files = sourceFiles();
const graph = new Map(files.map((file) => [file, importsOf(file)]));

describe('dependency rules (ARCHITECTURE.md)', () => {
  it('finds the source tree', () => {
    expect(files).toContain('common/records.ts');
    expect(files).toContain('processor/runtime/app.ts');
  });

  it('every import of a non-test file points to its own layer or one it may depend on', () => {
    const violations: string[] = [];
    for (const [file, { relative: targets }] of graph) {
      const from = layerOf(file);
      if (from === 'app' || isTest(file)) continue;
      for (const target of targets) {
        const to = layerOf(target);
        if (to !== from && !ALLOWED[from].includes(to)) violations.push(`${file} (${from}) imports ${target} (${to})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('kafkajs is imported only behind the processor/kafka/ port', () => {
    const outside = [...graph]
      .filter(([file, { packages }]) => packages.includes('kafkajs') && !file.startsWith('processor/kafka/') && !isTest(file))
      .map(([file]) => file);
    expect(outside).toEqual([]);
  });

  it('every module that loads kafkajs imports kafkajs-patches.ts before it (kafkajs captures its internals at load)', () => {
    const unpatched = files
      .filter((file) => file.startsWith('processor/kafka/') && !isTest(file))
      .filter((file) => {
        const text = readFileSync(join(root, file), 'utf8');
        const loads = text.search(/^import (?!type )[^;]*from 'kafkajs';/m);
        if (loads < 0) return false;
        const patches = text.indexOf("import './kafkajs-patches.js';");
        return patches < 0 || patches > loads;
      });
    expect(files).toContain('processor/kafka/kafkajs-patches.ts');
    expect(unpatched).toEqual([]);
  });

  it('no import circle between source files', () => {
    const sources = new Set(files.filter((file) => !isTest(file)));
    const state = new Map<string, 'visiting' | 'done'>();
    const circles: string[] = [];
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        circles.push([...path.slice(path.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'visiting');
      for (const target of graph.get(file)?.relative ?? []) if (sources.has(target)) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of sources) visit(file, []);
    expect(circles).toEqual([]);
  });

  it('the rules can fail: an upward import is reported', () => {
    expect(ALLOWED['state-store'].includes(layerOf('processor/runtime/app.ts'))).toBe(false);
    expect(relative(root, join(root, 'common/records.ts'))).toBe('common/records.ts');
  });
});

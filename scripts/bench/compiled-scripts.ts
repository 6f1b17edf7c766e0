/**
 * Bench workers run as compiled JavaScript, as a deployment runs `dist/` (the Kafka Streams side runs compiled jars):
 * running them through tsx made every worker transpile the library at start, CPU that was counted against Tributary.
 *
 * `compiledScript(root, 'scripts/bench/tributary-worker.ts')` transpiles the checkout at `root` (its library folders,
 * `examples/` and `scripts/bench/`, test files left out) into `<root>/.bench-build/` once per bench process and returns
 * the path of the script's JavaScript. Transpiling file by file (the sources are `isolatedModules`) takes a few seconds
 * and needs no type check; `npm run typecheck` is what checks the sources. A baseline checkout (`--baseline-root`) is
 * transpiled with this checkout's TypeScript, so both sides of an A/B run the same way.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

export const BUILD_DIRECTORY = '.bench-build';

const SOURCE_ROOTS = [
  'index.ts',
  'testing.ts',
  'internals.ts',
  'errors.ts',
  'common',
  'topology',
  'state-store',
  'processor',
  'http-query',
  'cli',
  'examples',
  'scripts/bench',
];

const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  // ES modules whatever the file: transpileModule does not read package.json's "type" (NodeNext would emit CommonJS).
  module: ts.ModuleKind.ES2022,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  esModuleInterop: true,
  sourceMap: false,
  inlineSourceMap: false,
};

const built = new Map<string, number>();

function sourceFiles(path: string, out: string[]): void {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return; // a root an older checkout does not have
  }
  if (stat.isDirectory()) {
    for (const entry of readdirSync(path)) {
      if (entry === 'node_modules' || entry === 'testing' || entry === 'test-fixtures') continue;
      sourceFiles(join(path, entry), out);
    }
  } else if (path.endsWith('.ts') && !path.endsWith('.test.ts') && !path.endsWith('.d.ts')) {
    out.push(path);
  }
}

/** Transpiles `root` into `<root>/.bench-build/` (once per process); returns the number of files written. */
export function buildBenchScripts(root: string): number {
  const done = built.get(root);
  if (done !== undefined) return done;
  const outRoot = join(root, BUILD_DIRECTORY);
  rmSync(outRoot, { recursive: true, force: true });
  const files: string[] = [];
  for (const source of SOURCE_ROOTS) sourceFiles(join(root, source), files);
  // package.json next to the output: the JavaScript is ES modules whatever the nearest package.json says.
  mkdirSync(outRoot, { recursive: true });
  writeFileSync(join(outRoot, 'package.json'), '{"type":"module"}\n');
  for (const file of files) {
    const output = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: COMPILER_OPTIONS, fileName: file });
    const target = join(outRoot, relative(root, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, output.outputText);
  }
  built.set(root, files.length);
  return files.length;
}

/** The compiled JavaScript of `script` (a path like `scripts/bench/tributary-worker.ts`, relative to `root`). */
export function compiledScript(root: string, script: string): string {
  buildBenchScripts(root);
  return join(root, BUILD_DIRECTORY, script.replace(/\.ts$/, '.js'));
}

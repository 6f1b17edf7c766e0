/**
 * Loads a user's topology module: a `.js`/`.mjs` file, or TypeScript (`.ts`/`.mts`) through tsx's loader (registered
 * on first need, so the built CLI works without tsx for JavaScript modules). The module exports a Topology as its
 * default export or as `topology`, or a function (maybe async) that receives `{ applicationId }` and returns one.
 */
import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TopologyModuleError } from '../errors.js';
import type { Topology } from '../topology/topology.js';

/** What a topology factory function receives. */
export interface TopologyModuleContext {
  /** From `--application-id` / `TRIBUTARY_APPLICATION_ID`; undefined when not given (the factory picks its own). */
  readonly applicationId?: string;
}

export type TopologyFactory = (context: TopologyModuleContext) => Topology | Promise<Topology>;

const TYPESCRIPT_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);

let tsxRegistered = false;

/**
 * Imports a module by path (relative to the working directory). TypeScript is first imported as is (the CLI may
 * already run under tsx); only when Node refuses the extension is tsx's ESM loader registered for the process.
 * tsx's global `register()` (not the scoped `tsImport`) keeps one module instance per file, so the topology and
 * the CLI share the same Tributary classes.
 */
async function importModule(absolutePath: string, displayPath: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(absolutePath).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const unknownExtension = (error as NodeJS.ErrnoException).code === 'ERR_UNKNOWN_FILE_EXTENSION';
    if (!unknownExtension || !TYPESCRIPT_EXTENSIONS.has(extname(absolutePath)) || tsxRegistered) {
      throw new TopologyModuleError(displayPath, `importing it failed: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
  }
  try {
    const api = (await import('tsx/esm/api')) as { register: () => unknown };
    api.register();
    tsxRegistered = true;
  } catch (error) {
    throw new TopologyModuleError(
      displayPath,
      'it is TypeScript and the tsx package (used to load TypeScript) is not installed; `npm install --save-dev tsx`, or compile the module to JavaScript',
      { cause: error },
    );
  }
  try {
    // Node caches the failed import of this URL: a query string makes it a new module entry for the retry.
    return (await import(`${url}?tributary-tsx`)) as Record<string, unknown>;
  } catch (error) {
    throw new TopologyModuleError(displayPath, `importing it failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

/** Duck-typed: a Topology from another copy of the package (e.g. a global CLI and a local dependency) also works. */
function isTopology(value: unknown): value is Topology {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof Topology, unknown>>;
  return (
    typeof candidate.applicationId === 'string' &&
    typeof candidate.describe === 'function' &&
    typeof candidate.toMermaid === 'function' &&
    Array.isArray(candidate.subtopologies) &&
    Array.isArray(candidate.repartitionTopics)
  );
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object with keys [${Object.keys(value).join(', ')}]`;
  return `a ${typeof value}`;
}

/** Loads the module and returns its topology; throws `TopologyModuleError` with what was found instead. */
export async function loadTopology(modulePath: string, context: TopologyModuleContext = {}): Promise<Topology> {
  const absolutePath = resolve(modulePath);
  if (!existsSync(absolutePath)) throw new TopologyModuleError(modulePath, `no such file (looked at ${absolutePath})`);
  const module = await importModule(absolutePath, modulePath);
  const exported = module.default ?? module.topology;
  if (exported === undefined) {
    throw new TopologyModuleError(
      modulePath,
      `it has no default export and no \`topology\` export (exports: ${Object.keys(module).join(', ') || 'none'})`,
    );
  }
  let topology: unknown = exported;
  if (typeof exported === 'function') {
    try {
      topology = await (exported as TopologyFactory)({ ...context });
    } catch (error) {
      // TopologyBuildError and friends already say what is wrong: keep them visible.
      throw new TopologyModuleError(modulePath, `the exported function threw: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
  }
  if (!isTopology(topology)) {
    throw new TopologyModuleError(
      modulePath,
      `${typeof exported === 'function' ? 'the exported function returned' : 'the export is'} ${describeValue(topology)}, not a built Topology (call builder.build({ applicationId }))`,
    );
  }
  return topology;
}

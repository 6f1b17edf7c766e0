/**
 * Puts a replacement for one of kafkajs's internal modules into Node's module cache, before the kafkajs module that
 * captures it (`capturedBy`) loads. Used by the kafkajs patches (kafkajs-patches.ts lists them).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** kafkajs's own module at `path` (e.g. `kafkajs/src/consumer/batch.js`), for replacements that fall back to it. */
export function loadKafkajsModule<T>(path: string): T {
  return require(path) as T;
}

/**
 * Installs `exports` as kafkajs's module `path`; false (nothing changed) when kafkajs cannot be resolved or
 * `capturedBy` already loaded, i.e. kafkajs keeps its own module in this process.
 */
export function replaceKafkajsModule(path: string, capturedBy: string, exports: () => unknown): boolean {
  let target: string;
  let capturer: string;
  try {
    target = require.resolve(path);
    capturer = require.resolve(capturedBy);
  } catch {
    return false;
  }
  if (require.cache[capturer] !== undefined) return false;
  const { Module } = require('node:module') as { Module: new (id: string) => NodeJS.Module };
  const replacement = new Module(target);
  replacement.filename = target;
  replacement.loaded = true;
  replacement.exports = exports();
  require.cache[target] = replacement;
  return true;
}

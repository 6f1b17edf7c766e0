#!/usr/bin/env node
/**
 * Entry point of the `tributary` command (package.json "bin" → dist/cli/main.js; in the repository:
 * `npx tsx cli/main.ts <command> ...`). Everything else lives in dispatch.ts so tests can import it.
 */
import { runCli } from './dispatch.js';

const code = await runCli(process.argv.slice(2));
// Let pending writes (stdout to a pipe) drain instead of cutting them off with process.exit().
process.exitCode = code;

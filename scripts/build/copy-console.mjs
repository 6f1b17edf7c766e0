// `npm run build` step: copies the web console's files (plain HTML, CSS and ES modules, no build of their own) next
// to the compiled query server, so dist/http-query/routes/console.js finds them at dist/http-query/console/.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const from = join(root, 'http-query', 'console');
const to = join(root, 'dist', 'http-query', 'console');
if (!existsSync(join(from, 'index.html'))) throw new Error(`no console files in ${from}`);
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
console.log(`copied the web console to ${to}`);

/**
 * The web console at /ui/: its own files (http-query/console/, copied next to the compiled code by `npm run build`)
 * and the browser builds of the libraries it uses (preact, htm, uPlot, dagre), served from the installed packages:
 * they are dependencies of this package, so their exact versions come from the lock file and nothing is copied or
 * bundled. Nothing is loaded from anywhere else: a strict Content-Security-Policy allows scripts, styles and requests
 * from this origin only, plus the one inline script, the import map (by its hash).
 *
 * The files hold no data, so they load without the bearer token (like /health); the page asks for the token and
 * sends it on every API call (see server.ts).
 */
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueryServerOptionsError } from '../../errors.js';

export const CONSOLE_PATH = '/ui';

/** URL name under /ui/vendor/ → package and file inside it (the import map in index.html points at these names). */
export const CONSOLE_VENDOR_FILES: Readonly<Record<string, { readonly pkg: string; readonly file: string }>> = {
  'preact.mjs': { pkg: 'preact', file: 'dist/preact.mjs' },
  'preact-hooks.mjs': { pkg: 'preact', file: 'hooks/dist/hooks.mjs' },
  'htm.mjs': { pkg: 'htm', file: 'dist/htm.mjs' },
  'htm-preact.mjs': { pkg: 'htm', file: 'preact/index.mjs' },
  'uplot.mjs': { pkg: 'uplot', file: 'dist/uPlot.esm.js' },
  'uplot.css': { pkg: 'uplot', file: 'dist/uPlot.min.css' },
  'dagre.mjs': { pkg: '@dagrejs/dagre', file: 'dist/dagre.esm.js' },
};

/** True for the console's routes, which need no bearer token. */
export function isConsoleRoute(routeUrl: string | undefined): boolean {
  return routeUrl === CONSOLE_PATH || (routeUrl?.startsWith(`${CONSOLE_PATH}/`) ?? false);
}

export function consoleAssetsDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'console');
}

/** The installed package's directory, found the way Node resolves it from here. */
function packageDir(pkg: string): string | undefined {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    // package.json not exported (htm): walk up from its entry point to the directory holding its package.json
  }
  let dir: string;
  try {
    dir = dirname(require.resolve(pkg));
  } catch {
    return undefined;
  }
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === pkg) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function resolveVendorFiles(): Map<string, { readonly dir: string; readonly file: string }> {
  const resolved = new Map<string, { dir: string; file: string }>();
  for (const [name, { pkg, file }] of Object.entries(CONSOLE_VENDOR_FILES)) {
    const base = packageDir(pkg);
    const path = base === undefined ? undefined : join(base, file);
    if (path === undefined || !existsSync(path)) {
      throw new QueryServerOptionsError(
        `the web console needs ${pkg}/${file}, which is not installed; reinstall the dependencies (npm ci) or turn the console off (http.ui: false, --no-ui)`,
      );
    }
    resolved.set(name, { dir: dirname(path), file: basename(path) });
  }
  return resolved;
}

const IMPORT_MAP = /<script type="importmap">([\s\S]*?)<\/script>/;

/** The response headers of every console file: CSP (scripts from here, plus the import map by its hash) and friends. */
export function consoleSecurityHeaders(indexHtml: string): Record<string, string> {
  const importMap = IMPORT_MAP.exec(indexHtml)?.[1];
  if (importMap === undefined) throw new QueryServerOptionsError('the web console index.html has no import map');
  const hash = createHash('sha256').update(importMap, 'utf8').digest('base64');
  const policy = [
    "default-src 'self'",
    `script-src 'self' 'sha256-${hash}'`,
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    'content-security-policy': policy,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'x-frame-options': 'DENY',
  };
}

export const consoleRoutes: FastifyPluginAsync = async (app) => {
  const root = consoleAssetsDir();
  const indexFile = join(root, 'index.html');
  if (!existsSync(indexFile)) {
    throw new QueryServerOptionsError(
      `the web console's files are missing (${root}); rebuild the package (npm run build) or turn the console off (http.ui: false, --no-ui)`,
    );
  }
  const headers = consoleSecurityHeaders(readFileSync(indexFile, 'utf8'));
  const vendor = resolveVendorFiles();
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
  // One route per file found at startup (no wildcard): anything else under /ui/ is the server's usual 404.
  await app.register(fastifyStatic, {
    root,
    prefix: `${CONSOLE_PATH}/`,
    wildcard: false,
    index: ['index.html'],
    redirect: false,
    // Type declarations for the TypeScript side, not for the browser.
    globIgnore: ['**/*.d.ts'],
  });
  // Relative URLs in the page (./vendor/…, ../metadata) need the trailing slash.
  app.get(CONSOLE_PATH, { schema: { hide: true } }, (_request, reply) => reply.redirect(`${CONSOLE_PATH.slice(1)}/`, 302));
  for (const [name, { dir, file }] of vendor) {
    app.get(`${CONSOLE_PATH}/vendor/${name}`, { schema: { hide: true } }, (_request, reply) => reply.sendFile(file, dir));
  }
};

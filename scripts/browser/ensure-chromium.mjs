// Makes sure a Chromium the browser tests can drive is installed: Debian's `chromium` (and `chromium-driver`),
// installed with apt-get when missing. Idempotent and quick when the browser is there (one `--version` call).
// Plain ESM so it runs without a build step: `node scripts/browser/ensure-chromium.mjs` prints the browser's path.
// Everything apt-get prints goes to .state/browser/ensure-chromium.log (or the `logFile` given).
//
// Env: CHROMIUM_PATH points at another Chromium binary (then nothing is installed).
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';
export const DEFAULT_LOG_FILE = join(REPO_ROOT, '.state', 'browser', 'ensure-chromium.log');
const APT_PACKAGES = ['chromium', 'chromium-driver'];
/** apt-get waits this long for a dpkg lock another installer holds, instead of failing at once. */
const APT_LOCK_TIMEOUT_SECONDS = 120;

/** Raised when the browser is missing and cannot be installed here; the message says why and what to do. */
export class BrowserUnavailableError extends Error {
  constructor(message) {
    super(message);
    this.name = 'BrowserUnavailableError';
  }
}

function log(logFile, text) {
  mkdirSync(dirname(logFile), { recursive: true });
  appendFileSync(logFile, `[${new Date().toISOString()}] ${text}\n`);
}

function run(logFile, command, args, timeoutMs) {
  log(logFile, `$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (output.trim() !== '') log(logFile, output.trimEnd());
  if (result.error) log(logFile, `failed to run: ${result.error.message}`);
  else log(logFile, `exit ${result.status}${result.signal ? ` (signal ${result.signal})` : ''}`);
  return { ok: result.status === 0 && !result.error, stdout: result.stdout ?? '' };
}

/** The browser's version line, or undefined when `path` is not a working Chromium. */
function versionOf(path, logFile) {
  if (!existsSync(path)) return undefined;
  const result = run(logFile, path, ['--version'], 30_000);
  // Debian's wrapper script may print shell warnings on stderr; the version is stdout's line.
  const line = result.stdout.split('\n').find((text) => /chrom/i.test(text));
  return result.ok && line !== undefined ? line.trim() : undefined;
}

function aptInstall(logFile) {
  const args = ['-o', `DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_SECONDS}`, 'install', '-y', '--no-install-recommends', ...APT_PACKAGES];
  return run(logFile, 'apt-get', args, 15 * 60_000);
}

/**
 * Returns `{ executablePath, version, installed }`, installing Debian's chromium first when it is missing.
 * Throws BrowserUnavailableError when it is missing and cannot be installed (not root, no apt-get, no package).
 */
export function ensureChromium({ logFile = DEFAULT_LOG_FILE } = {}) {
  const override = process.env.CHROMIUM_PATH;
  const path = override && override.trim() !== '' ? override.trim() : DEFAULT_CHROMIUM_PATH;
  const present = versionOf(path, logFile);
  if (present !== undefined) return { executablePath: path, version: present, installed: false };
  if (path !== DEFAULT_CHROMIUM_PATH) {
    throw new BrowserUnavailableError(
      `CHROMIUM_PATH=${path} is not a working Chromium (see ${logFile}); unset it to use Debian's chromium`,
    );
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new BrowserUnavailableError(
      `${DEFAULT_CHROMIUM_PATH} is missing and installing it needs root: run "sudo apt-get install chromium chromium-driver" ` +
        'or set CHROMIUM_PATH to a Chromium binary',
    );
  }
  if (!run(logFile, 'apt-get', ['--version'], 30_000).ok) {
    throw new BrowserUnavailableError(
      `${DEFAULT_CHROMIUM_PATH} is missing and this machine has no apt-get to install Debian's chromium; set CHROMIUM_PATH to a Chromium binary`,
    );
  }
  log(logFile, `installing ${APT_PACKAGES.join(', ')}`);
  let install = aptInstall(logFile);
  if (!install.ok) {
    // Usually stale or missing package lists: refresh them once and try again.
    run(logFile, 'apt-get', ['-o', `DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_SECONDS}`, 'update'], 10 * 60_000);
    install = aptInstall(logFile);
  }
  const version = versionOf(DEFAULT_CHROMIUM_PATH, logFile);
  if (!install.ok || version === undefined) {
    throw new BrowserUnavailableError(`could not install Debian's chromium with apt-get; the log is ${logFile}`);
  }
  return { executablePath: DEFAULT_CHROMIUM_PATH, version, installed: true };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const started = Date.now();
    const browser = ensureChromium();
    console.error(
      browser.installed
        ? `Installed ${browser.version} in ${((Date.now() - started) / 1000).toFixed(0)} s (log ${DEFAULT_LOG_FILE})`
        : `${browser.version} is installed`,
    );
    console.log(browser.executablePath);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}

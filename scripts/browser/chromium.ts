/**
 * Headless Chromium for the browser tests and the console screenshots: the system browser (Debian's chromium, see
 * ensure-chromium.mjs) started here as a child process we own, driven by playwright-core over the DevTools protocol.
 * No browser download: playwright-core only speaks the protocol. The process is stopped by its PID in `close()`, and
 * a process 'exit' hook kills it if the caller never gets there.
 *
 * The flags keep Chromium off the network (no background requests, updates, sync or QUIC): on a closed machine those
 * connections are refused and only slow it down.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--remote-debugging-address=127.0.0.1',
  '--remote-debugging-port=0',
] as const;

export interface RunningChromium {
  readonly pid: number;
  readonly browser: Browser;
  /** A fresh context (own cookies and storage) with the given viewport. */
  newContext(viewport?: { width: number; height: number }): Promise<BrowserContext>;
  /** Disconnects, stops the process by its PID (SIGTERM, then SIGKILL) and removes its profile directory. */
  close(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHook = false;

function killLeftovers(): void {
  for (const child of live) {
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Starts `executablePath` headless with a fresh profile and connects to it. */
export async function launchChromium(executablePath: string, { startTimeoutMs = 30_000 } = {}): Promise<RunningChromium> {
  if (!exitHook) {
    exitHook = true;
    process.once('exit', killLeftovers);
  }
  const profile = mkdtempSync(join(tmpdir(), 'tributary-chromium-'));
  const child = spawn(executablePath, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    live.delete(child);
    rmSync(profile, { recursive: true, force: true });
  };
  let browser: Browser;
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`Chromium did not start within ${startTimeoutMs} ms:\n${output}`)), startTimeoutMs);
      child.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /DevTools listening on (ws:\/\/\S+)/.exec(output);
        if (match !== null) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`Chromium exited (code ${code}, signal ${signal}) before it listened:\n${output}`));
      });
    });
    browser = await chromium.connectOverCDP(endpoint);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    pid: child.pid as number,
    browser,
    newContext: (viewport = { width: 1440, height: 900 }) => browser.newContext({ viewport, deviceScaleFactor: 1 }),
    async close() {
      try {
        await browser.close();
      } finally {
        await stop();
      }
    },
  };
}

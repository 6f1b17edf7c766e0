/**
 * Smoke test of `npm run demo`: runs scripts/demo.ts as a child process against the test broker (KAFKA_BROKERS)
 * with a short --duration, queries the curl targets it prints while it runs, and checks that it stops everything
 * it started and exits 0.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/app-process.js';
import { kafkaBrokers, uniqueName } from '../helpers/kafka.js';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const stateRoot = mkdtempSync(join(tmpdir(), 'tributary-demo-test-'));

afterAll(() => rmSync(stateRoot, { recursive: true, force: true }));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm run demo', () => {
  it(
    'starts two instances whose printed curl targets answer (joins and aggregations), then stops them and exits 0',
    { timeout: 150_000 },
    async () => {
      const ports = [await freePort(), await freePort()];
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'scripts/demo.ts',
          '--duration',
          '12',
          '--customers',
          '2000',
          '--orders-per-second',
          '50',
          '--ports',
          ports.join(','),
          '--application-id',
          uniqueName('demo'),
          '--state-root',
          stateRoot,
        ],
        { cwd: REPO_ROOT, env: { ...process.env, KAFKA_BROKERS: kafkaBrokers() }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
      try {
        // The curl commands are printed once both instances are ready; "Running for" follows the demo's own checks.
        const running = new Promise<void>((resolveRunning, reject) => {
          child.stdout.on('data', (chunk: Buffer) => {
            output += chunk.toString();
            if (output.includes('Running for')) resolveRunning();
          });
          void exited.then((code) => reject(new Error(`demo exited (code ${code}) before running:\n${output}`)));
        });
        await running;

        const targets = [...output.matchAll(/curl -s '([^']+)'\s+# (.*)/g)].map((m) => ({ url: m[1], note: m[2] }));
        expect(targets.length).toBe(12);
        expect(new Set(targets.map((t) => new URL(t.url).port))).toEqual(new Set(ports.map(String)));
        for (const { url, note } of targets) {
          const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
          const body = await response.text();
          if (note.includes('deleted')) {
            expect(response.status, url).toBe(404);
            expect(body).toContain('TRIBUTARY_QUERY_KEY_NOT_FOUND');
          } else {
            expect(response.status, `${url}: ${body}`).toBe(200);
          }
          const aggregation = url.includes('/orders-per-customer/') || url.includes('/revenue-per-customer-hour/');
          if (url.includes('/keys/') && !note.includes('deleted') && !aggregation) {
            const parsed = JSON.parse(body) as { key: string; value: { id: string; version: number } };
            expect(parsed.value.id).toBe(parsed.key);
            expect(parsed.value.version).toBe(2); // the demo picks an updated customer
          }
          if (url.includes('/orders-per-customer/keys/')) {
            const parsed = JSON.parse(body) as { key: string; value: number };
            expect(parsed.value).toBeGreaterThanOrEqual(1); // a customer the demo saw counted
          }
          if (url.includes('/revenue-per-customer-hour/')) {
            const parsed = JSON.parse(body) as { windows?: { start: number; end: number }[]; entries?: { start: number; end: number }[] };
            const windows = parsed.windows ?? parsed.entries ?? [];
            expect(windows.length, body).toBeGreaterThan(0);
            for (const w of windows) expect(w.end - w.start).toBe(3_600_000);
          }
          if (url.endsWith('/metadata')) expect((JSON.parse(body) as { instances: unknown[] }).instances).toHaveLength(2);
          if (url.endsWith('/metrics')) expect(body).toContain('tributary_');
        }
        expect(output).not.toContain('FAIL');
        // The web console's URL is printed and serves the page.
        const consoleUrl = /open (http:\/\/\S+\/ui\/)/.exec(output)?.[1];
        expect(consoleUrl, output).toBeDefined();
        const page = await fetch(consoleUrl as string, { signal: AbortSignal.timeout(10_000) });
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('Tributary console');
        expect(output).toMatch(/orders-enriched[^\n]*\n\s+p\d+@\d+ order-\d+ -> \{[^\n]*"customer":\{/);
        expect(output).toMatch(/orders-by-customer[^\n]*\n\s+p\d+@\d+ customer-\d+ -> \{/);

        const pids = [...output.matchAll(/instance-\d: pid (\d+)/g)].map((m) => Number(m[1]));
        expect(pids).toHaveLength(2);
        expect(await exited, output).toBe(0);
        expect(output).toContain('Demo stopped.');
        for (const pid of pids) expect(isAlive(pid)).toBe(false);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  );
});

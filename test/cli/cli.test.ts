/**
 * The `tributary` CLI as a user runs it (child processes, `node --import tsx cli/main.ts ...`) against the test
 * broker: `run` serves a topology module and stops cleanly on SIGTERM; `reset` refuses while the app runs, prints
 * its plan without --yes, and deletes the repartition topic, the group's offsets and the local state with --yes.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/app-process.js';
import { createTopics, kafkaBrokers, produce, uniqueName, waitUntil, withAdmin } from '../helpers/kafka.js';
import { benchTopics } from '../../scripts/bench/bench-topology.js';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const MODULE = 'scripts/bench/bench-topology.ts';
const work = mkdtempSync(join(tmpdir(), 'tributary-cli-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): { done: Promise<CliResult>; pid: number; kill: (signal: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliResult>((resolveDone) => child.once('exit', (code) => resolveDone({ code, stdout, stderr })));
  return {
    done,
    pid: child.pid ?? -1,
    kill: (signal) => {
      if (child.exitCode === null) child.kill(signal);
    },
  };
}

describe('tributary CLI against a broker', () => {
  it('runs a module, refuses a reset while it runs, then resets topics, offsets and local state', { timeout: 120_000 }, async () => {
    const prefix = uniqueName('cli');
    const topics = benchTopics(prefix);
    const applicationId = `${prefix}-app`;
    const repartitionTopic = `${applicationId}-orders-by-customer-repartition`;
    const stateDir = join(work, 'state');
    const env = { BENCH_TOPIC_PREFIX: prefix, TRIBUTARY_BROKERS: kafkaBrokers() };
    await createTopics([
      { topic: topics.customers, partitions: 2, configs: { 'cleanup.policy': 'compact' } },
      { topic: topics.orders, partitions: 2 },
      { topic: topics.enriched, partitions: 2 },
      { topic: topics.byCustomer, partitions: 2 },
    ]);
    await produce(topics.customers, [
      { key: 'customer-1', value: JSON.stringify({ id: 'customer-1', name: 'Ada', tier: 'gold', country: 'NL', version: 1 }) },
      { key: 'customer-2', value: JSON.stringify({ id: 'customer-2', name: 'Grace', tier: 'basic', country: 'US', version: 1 }) },
    ]);
    await produce(topics.orders, [
      { key: 'order-1', value: JSON.stringify({ orderId: 'order-1', customerId: 'customer-2', amount: 3, createdAt: 1 }) },
    ]);

    const port = await freePort();
    const app = cli(
      [
        'run',
        MODULE,
        '--application-id',
        applicationId,
        '--state-dir',
        stateDir,
        '--port',
        String(port),
        '--commit-interval-ms',
        '200',
        '--session-timeout-ms',
        '6000',
      ],
      env,
    );
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitUntil(async () => (await fetch(`${url}/ready`).catch(() => undefined))?.status === 200, {
        timeoutMs: 60_000,
        description: 'the app to be ready',
      });
      const lookup = await fetch(`${url}/stores/customers/keys/customer-2`);
      expect(lookup.status).toBe(200);
      expect(((await lookup.json()) as { value: { name: string } }).value.name).toBe('Grace');
      // The order was joined and its offset committed: the reset below has offsets to delete.
      await waitUntil(async () => (await withAdmin((admin) => admin.fetchCommittedOffsets(applicationId, [topics.orders]))).size > 0, {
        timeoutMs: 30_000,
        description: 'committed offsets of the orders topic',
      });

      const refused = await cli(['reset', '--application-id', applicationId, '--yes'], env).done;
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('TRIBUTARY_CLI_RESET_GROUP_FAILED');
      expect(await withAdmin((admin) => admin.listTopics())).toContain(repartitionTopic);

      app.kill('SIGTERM');
      const stopped = await app.done;
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(stopped.stderr).toContain('"msg":"stopped"');
    } finally {
      app.kill('SIGKILL');
    }

    // Without --yes: the plan (repartition topic found by name), nothing deleted.
    const plan = await cli(['reset', '--application-id', applicationId, '--local-state', '--state-dir', stateDir], env).done;
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('Repartition topics (by name pattern):');
    expect(plan.stdout).toContain(`delete topic ${repartitionTopic}`);
    expect(plan.stdout).toMatch(new RegExp(`delete committed offsets of ${topics.orders} \\(\\d partitions?\\)`));
    expect(plan.stdout).toContain(`delete directory ${join(stateDir, applicationId)}`);
    expect(plan.stdout).toContain('Nothing was deleted');
    expect(await withAdmin((admin) => admin.listTopics())).toContain(repartitionTopic);
    expect(existsSync(join(stateDir, applicationId))).toBe(true);

    // With the module and --yes: everything listed is gone.
    const reset = await cli(['reset', MODULE, '--application-id', applicationId, '--local-state', '--state-dir', stateDir, '--yes'], env)
      .done;
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toContain('Repartition topics (from the topology):');
    expect(reset.stdout).toContain('Reset done.');
    await waitUntil(async () => !(await withAdmin((admin) => admin.listTopics())).includes(repartitionTopic), {
      timeoutMs: 30_000,
      description: 'the repartition topic to be deleted',
    });
    expect((await withAdmin((admin) => admin.fetchCommittedOffsets(applicationId, [topics.orders]))).size).toBe(0);
    expect(existsSync(join(stateDir, applicationId))).toBe(false);
    expect(await withAdmin((admin) => admin.listTopics())).toEqual(expect.arrayContaining([topics.customers, topics.orders]));
  });

  it('prints the topology of a module and rejects bad settings with exit code 2', { timeout: 60_000 }, async () => {
    const env = { BENCH_TOPIC_PREFIX: 'p' };
    const described = await cli(['describe', MODULE, '--application-id', 'shop'], env).done;
    expect(described.code).toBe(0);
    expect(described.stdout).toContain('shop-orders-by-customer-repartition');
    expect(described.stdout).toContain('Global Stores:');
    const mermaid = await cli(['describe', MODULE, '--mermaid'], env).done;
    expect(mermaid.stdout.startsWith('flowchart')).toBe(true);

    const bad = await cli(['run', MODULE, '--port', 'x'], { ...env, TRIBUTARY_BROKERS: '' }).done;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--port: "x" must be an integer');
    expect(bad.stderr).toContain('--brokers (or TRIBUTARY_BROKERS): is required');
    const unknown = await cli(['frobnicate'], env).done;
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });
});

/**
 * Memory bound of the change feed: one instance (child process, so its RSS is its own) serves 1,000 subscribers
 * that read the response headers and then never read again, while 6,000 changes of ~500 bytes flow through its
 * global store. Each subscriber's queue (1,000 items, pointers to shared events) overflows while its socket is full and
 * the subscriber is dropped; the instance's RSS grows by less than RSS_BOUND_MB (README "Change feed"), and a normal
 * subscriber gets
 * every change exactly once (resuming with Last-Event-ID when this busy test process makes it fall behind).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AppProcessGroup } from '../helpers/app-process.js';
import { createTestTopic, produce, uniqueName, waitUntil } from '../helpers/kafka.js';
import { SseSubscription } from './sse-client.js';

const SUBSCRIBERS = Number(process.env.FEED_SUBS ?? 1000);
/** More than a blocked subscriber's queue (1,000 items by default) plus what the kernel buffers take. */
const CHANGES = 6000;
/**
 * The bound stated in the README. What grows is V8's heap headroom from writing ~3.6 GB of frames to the sockets
 * (loopback kernel buffers take up to ~4 MB per socket before a write blocks), plus at most `queueLimit` pointers per
 * subscriber; measured +240 MB on the development machine.
 */
const RSS_BOUND_MB = 400;

const rssMb = (pid: number): number => {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]) / 1024;
  } catch {
    return 0; // the process is gone
  }
};
const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

describe('change feed memory with 1,000 slow subscribers', () => {
  const apps = new AppProcessGroup('feed-memory');
  const sockets: Socket[] = [];
  afterEach(async ({ task }) => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await apps.cleanup({ printLogs: task.result?.state === 'fail' });
  });
  afterAll(async () => apps.dispose());

  it(`RSS grows by less than ${RSS_BOUND_MB} MB; a normal subscriber gets every change exactly once`, async () => {
    const customers = await createTestTopic('feed-mem-customers', 1);
    const regions = await createTestTopic('feed-mem-regions', 1);
    const app = await apps.start({
      fixture: 'test/fixtures/query-app.ts',
      appId: uniqueName('feed-mem'),
      env: { TOPIC_CUSTOMERS: customers, TOPIC_REGIONS: regions },
    });
    await app.waitUntilReady();
    const { hostname, port } = new URL(app.url);
    // A normal subscriber, in this (busy) test process: when dropped as slow, it resumes from its Last-Event-ID.
    const received: string[] = [];
    let healthy = new SseSubscription(`${app.url}/stores/regions/changes`);
    let reconnects = 0;
    const follow = async (): Promise<boolean> => {
      if (healthy.ended() === undefined && healthy.status !== 410) return received.length + healthy.changes().length >= CHANGES;
      for (const c of healthy.changes()) received.push(`${c.partition}@${c.offset}`);
      healthy.close();
      healthy = new SseSubscription(`${app.url}/stores/regions/changes`, { lastEventId: healthy.lastEventId });
      reconnects++;
      return false;
    };
    await waitUntil(() => healthy.events.some((e) => e.event === 'subscribed'), { description: 'a normal subscriber' });
    const fdsBefore = openFds(app.pid);
    const rssBefore = rssMb(app.pid);

    let answered = 0;
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const socket = connect({ host: hostname, port: Number(port) });
      socket.on('error', () => undefined);
      socket.write(`GET /stores/regions/changes HTTP/1.1\r\nhost: ${hostname}\r\naccept: text/event-stream\r\n\r\n`);
      // Read the headers and the first event, then never again: the kernel buffers fill, then the server's queue.
      socket.once('data', (chunk: Buffer) => {
        if (chunk.toString('latin1').startsWith('HTTP/1.1 200')) answered++;
        socket.pause();
      });
      sockets.push(socket);
    }
    await waitUntil(() => answered === SUBSCRIBERS, { timeoutMs: 30_000, description: `${SUBSCRIBERS} subscriptions answered` });

    let peak = rssMb(app.pid);
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(app.pid))), 50);
    const label = 'x'.repeat(480);
    for (let batch = 0; batch < CHANGES / 500; batch++) {
      await produce(
        regions,
        Array.from({ length: 500 }, (_, i) => ({
          key: `r-${(batch * 500 + i) % 200}`,
          value: JSON.stringify({ code: 'r', label: `${batch}-${i}-${label}` }),
        })),
      );
    }
    await waitUntil(follow, { timeoutMs: 60_000, description: 'the normal subscriber got every change' }).catch((error: unknown) => {
      const state = {
        received: received.length,
        current: healthy.changes().length,
        status: healthy.status,
        reconnects,
        end: healthy.ended()?.data,
        events: healthy.events.length,
        rss: rssMb(app.pid),
      };
      throw new Error(`${String(error)} ${JSON.stringify(state)}`);
    });
    for (const c of healthy.changes()) received.push(`${c.partition}@${c.offset}`);
    expect(received).toHaveLength(CHANGES);
    expect(new Set(received).size).toBe(CHANGES);
    // Subscribers whose queue filled were dropped and their sockets closed (their file descriptors went away); the
    // others hold a full queue: the worst case for memory.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const fdsAfter = openFds(app.pid);
    clearInterval(sampler);
    peak = Math.max(peak, rssMb(app.pid));
    const growth = peak - rssBefore;
    console.log(
      `[change feed memory] ${SUBSCRIBERS} slow subscribers, ${CHANGES} changes of ~500 B: RSS ${rssBefore.toFixed(0)} MB -> peak ${peak.toFixed(0)} MB (+${growth.toFixed(0)} MB, bound ${RSS_BOUND_MB} MB); the normal subscriber resumed ${reconnects} time(s); open sockets ${fdsBefore} -> ${fdsAfter}`,
    );
    expect(growth).toBeLessThan(RSS_BOUND_MB);
    healthy.close();
  });
});

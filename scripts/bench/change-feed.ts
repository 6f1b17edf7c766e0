/**
 * Change-feed fan-out: one instance with a partitioned table (4 partitions), N SSE subscribers to its
 * /stores/:store/changes, M changes produced at full speed. Prints, per N: events/s delivered (N × M over the time
 * from the first produce to the last event received by every subscriber) and the latency from produce (the record
 * timestamp, set when it is produced) to the event's arrival at a subscriber, p50/p99.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 npx tsx scripts/bench/change-feed.ts [--subscribers 1,10,100] [--changes 5000]
 *
 * Subscribers run in this process (fetch + a small SSE parser), so their parsing shares the CPU with the server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TributaryApp } from '../../processor/runtime/app.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { KafkaAdmin } from '../../processor/kafka/admin.js';
import { createKafkaClient } from '../../processor/kafka/client.js';
import { RecordProducer } from '../../processor/kafka/producer.js';

const { values } = parseArgs({
  options: { subscribers: { type: 'string', default: '1,10,100' }, changes: { type: 'string', default: '5000' } },
});
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const counts = (values.subscribers ?? '1').split(',').map(Number);
const changes = Number(values.changes);

interface Subscriber {
  received: number;
  latencies: number[];
  lastAt: number;
  ready: Promise<void>;
  abort: AbortController;
}

function subscribe(url: string): Subscriber {
  const abort = new AbortController();
  const subscriber: Subscriber = { received: 0, latencies: [], lastAt: 0, abort, ready: Promise.resolve() };
  subscriber.ready = new Promise((resolve) => {
    void (async () => {
      const response = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let boundary = buffer.indexOf('\n\n');
          while (boundary >= 0) {
            const frame = buffer.slice(0, boundary);
            buffer = buffer.slice(boundary + 2);
            if (frame.includes('event: subscribed')) resolve();
            const data = frame.indexOf('\ndata: ');
            if (frame.includes('event: change') && data >= 0) {
              const event = JSON.parse(frame.slice(data + 7)) as { timestamp: number };
              const now = Date.now();
              subscriber.latencies.push(now - event.timestamp);
              subscriber.received++;
              subscriber.lastAt = now;
            }
            boundary = buffer.indexOf('\n\n');
          }
        }
      } catch {
        // aborted at the end
      }
    })();
  });
  return subscriber;
}

// Several subscriber counts: one child process per count (a fresh process, broker topic and app for each).
if (counts.length > 1) {
  const { execFileSync } = await import('node:child_process');
  for (const n of counts) {
    const out = execFileSync(
      process.execPath,
      [...process.execArgv, process.argv[1], '--subscribers', String(n), '--changes', String(changes)],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    for (const line of out.split('\n')) if (line.startsWith('{"subscribers"')) console.log(line);
  }
  process.exit(0);
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

const client = createKafkaClient({ brokers: brokers.split(','), clientId: 'bench-change-feed', logLevel: 'nothing' });
const admin = new KafkaAdmin(client);
await admin.connect();
const producer = new RecordProducer(client);
await producer.connect();
const results: unknown[] = [];
for (const n of counts) {
  const topic = `bench-feed-${Date.now().toString(36)}`;
  await admin.ensureTopics([{ topic, partitions: 4 }]);
  const b = new StreamsBuilder();
  b.table(topic, { key: Serdes.string(), value: Serdes.json(), store: 'customers' });
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-feed-'));
  const app = new TributaryApp(b.build({ applicationId: topic }), {
    brokers,
    stateDir,
    http: { port: 0, ui: false },
    commitIntervalMs: 100,
    fetchMaxWaitMs: 50,
    kafka: { logLevel: 'nothing' },
  });
  await app.start();
  await app.waitUntilReady();
  const subscribers = Array.from({ length: n }, () => subscribe(`${app.url}/stores/customers/changes`));
  await Promise.all(subscribers.map((s) => s.ready));
  const startedAt = Date.now();
  const value = JSON.stringify({ name: 'x'.repeat(150), tier: 'gold' });
  for (let sent = 0; sent < changes; sent += 500) {
    const now = Date.now();
    await producer.send(
      Array.from({ length: Math.min(500, changes - sent) }, (_, i) => ({
        topic,
        key: Buffer.from(`c-${sent + i}`),
        value: Buffer.from(value),
        headers: {},
        timestamp: now,
      })),
    );
  }
  while (subscribers.some((s) => s.received < changes)) await new Promise((resolve) => setTimeout(resolve, 20));
  const lastAt = Math.max(...subscribers.map((s) => s.lastAt));
  const latencies = subscribers.flatMap((s) => s.latencies).sort((x, y) => x - y);
  const result = {
    subscribers: n,
    changes,
    eventsPerSecond: Math.round((n * changes) / ((lastAt - startedAt) / 1000)),
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] },
  };
  console.log(JSON.stringify(result));
  results.push(result);
  for (const s of subscribers) s.abort.abort();
  await app.stop();
  rmSync(stateDir, { recursive: true, force: true });
  await admin.deleteTopics([topic]).catch(() => undefined);
}
await producer.disconnect();
await admin.disconnect();
console.log(JSON.stringify({ machine: `${process.platform} ${process.arch}, node ${process.version}`, results }, null, 1));

/** The global setup hands the broker address to workers both ways other tests rely on. */
// Before kafkajs loads, as every product path does: its request queue's timer would print a TimeoutNegativeWarning.
import '../../processor/kafka/kafkajs-patches.js';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it, inject } from 'vitest';

describe('Kafka global setup', () => {
  it('exposes the same reachable broker through process.env.KAFKA_BROKERS and inject("kafkaBrokers")', async () => {
    const brokers = inject('kafkaBrokers');
    expect(process.env.KAFKA_BROKERS).toBe(brokers);
    const admin = new Kafka({ clientId: 'setup-check', brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      expect((await admin.describeCluster()).brokers.length).toBeGreaterThan(0);
    } finally {
      await admin.disconnect();
    }
  });
});

/**
 * DeadLetterReader against the real broker: pages a two-partition dead-letter topic newest first, reading at most
 * `limit` records per partition per page, until every record was shown exactly once.
 */
import { describe, expect, it } from 'vitest';
import { KafkaAdmin } from '../../processor/kafka/admin.js';
import { DeadLetterReader } from '../../processor/runtime/dead-letter-reader.js';
import type { DeadLetterPage } from '../../http-query/query-source.js';
import { createTestTopic, produce, testKafkaClient } from '../helpers/kafka.js';

describe('DeadLetterReader', () => {
  it('pages the dead-letter topic newest first, every record once, with its headers', async () => {
    const topic = await createTestTopic('dlq-reader', 2);
    // Partition 0: 5 records, partition 1: 2; timestamps rise with the index, so newest first is index order reversed.
    await produce(
      topic,
      Array.from({ length: 7 }, (_, i) => ({
        key: `k${i}`,
        value: `v${i}`,
        partition: i < 5 ? 0 : 1,
        timestamp: 1_700_000_000_000 + (i < 5 ? i * 10 : 15 + i),
        headers: { 'tributary.stage': 'processing', n: String(i) },
      })),
    );
    const client = testKafkaClient();
    const admin = new KafkaAdmin(client);
    await admin.connect();
    try {
      const reader = new DeadLetterReader({ client, admin, topic });
      const pages: DeadLetterPage[] = [];
      let before: ReadonlyMap<number, number> | undefined;
      do {
        const page = await reader.page({ limit: 3, before });
        pages.push(page);
        before = page.next ?? undefined;
      } while (before !== undefined && pages.length < 10);

      expect(pages[0].partitions).toEqual([
        { partition: 0, earliest: 0, end: 5 },
        { partition: 1, earliest: 0, end: 2 },
      ]);
      const shown = pages.map((p) => p.entries.map((e) => `${e.partition}@${e.offset}`));
      expect(shown.flat().sort()).toEqual(['0@0', '0@1', '0@2', '0@3', '0@4', '1@0', '1@1'].sort());
      for (const page of pages) expect(page.entries.length).toBeLessThanOrEqual(3);
      // Newest (by timestamp) first: 1@1 (t=21), 1@0 (t=20), 0@4 (t=40)... merged across partitions.
      expect(shown[0]).toEqual(['0@4', '0@3', '1@1']);
      const first = pages[0].entries[0];
      expect(Buffer.from(first.value ?? []).toString()).toBe('v4');
      expect(Buffer.from(first.headers.n ?? []).toString()).toBe('4');
      expect(pages[pages.length - 1].next).toBeNull();
      // The same request again within a moment is answered from the last read, not by another consumer group.
      const again = await reader.page({ limit: 3 });
      expect(await reader.page({ limit: 3 })).toBe(again);
      expect(again.entries).toEqual(pages[0].entries);
    } finally {
      await admin.disconnect();
    }
  });
});

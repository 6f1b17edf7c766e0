/**
 * Internal topic names that survive deploys, and what start() says about one an earlier deploy left behind: a
 * re-keyed join's repartition topic is named after the joined table's store; an existing internal topic of the
 * application that the topology no longer reads, with records never read, is logged with how to drain it and listed
 * in /metadata, or refused with orphanedInternalTopics: 'fail'.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '../../common/logger.js';
import { OrphanedInternalTopicsError } from '../../errors.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import { InProcessApps } from '../dlq/in-process-app.js';
import { createTopics, produce, testKafkaClient, uniqueName } from '../helpers/kafka.js';

const apps = new InProcessApps();
afterEach(() => apps.cleanup());
const str = Serdes.string();

describe('internal topics across deploys', () => {
  it('names the join repartition topic after the store, and reports a renamed one that still holds unread records', async () => {
    const appId = uniqueName('internal-topics');
    const [orders, customers, out] = ['orders', 'customers', 'out'].map((name) => `${appId}-in-${name}`);
    await createTopics([orders, customers, out].map((topic) => ({ topic, partitions: 2 })));
    // What an earlier version (repartition topic named after a generated node) left behind: 7 records, of which
    // its group read 2 (partition 0), so 5 were never read.
    const previous = `${appId}-KSTREAM-KEY-SELECT-0000000003-repartition`;
    await createTopics([{ topic: previous, partitions: 2 }]);
    await produce(
      previous,
      Array.from({ length: 7 }, (_, i) => ({ key: `c${i}`, value: `"o${i}"`, partition: i < 3 ? 0 : 1 })),
    );
    const admin = testKafkaClient().admin();
    await admin.connect();
    await admin.setOffsets({ groupId: appId, topic: previous, partitions: [{ partition: 0, offset: '2' }] });
    await admin.disconnect();

    const b = new StreamsBuilder();
    const table = b.table(customers, { key: str, value: str, store: 'customers' });
    b.stream(orders, { key: str, value: str })
      .selectKey((_k, v) => v)
      .join(table, (o, c) => `${o}@${c}`)
      .to(out, { value: str });
    const topology = b.build({ applicationId: appId });
    expect(topology.internalTopics()).toEqual([`${appId}-customers-repartition`]);

    const refusing = await apps.create(topology, { applicationId: appId, orphanedInternalTopics: 'fail' });
    const error: unknown = await refusing.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrphanedInternalTopicsError);
    expect((error as OrphanedInternalTopicsError).topics).toEqual([{ topic: previous, unreadRecords: 5 }]);
    await refusing.stop();

    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (message) => void warnings.push(message) };
    const app = await apps.start(topology, { applicationId: appId, logger });
    expect(app.querySource().metadata().orphanedInternalTopics).toEqual([{ topic: previous, unreadRecords: 5 }]);
    expect(warnings.filter((w) => w.includes(previous))).toEqual([
      expect.stringMatching(/no longer used by this topology, and holds 5 record\(s\) its group never read.*lag on/),
    ]);
  });
});

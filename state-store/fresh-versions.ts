/**
 * Which records of a versioned restore into an empty store are certainly newer than whatever the store holds for
 * their key, so their stored version need not be read (the read before write is what versions cost).
 *
 * Every version in the store was written by this restore. A record of partition p whose key was never read from
 * another partition (one Bloom filter of keys per partition: no false negatives) and whose timestamp is at least the
 * greatest timestamp read so far from p is newer by the rule (record-version.ts) than every earlier record of its
 * key: those all come from p, at lower offsets, with timestamps no greater. The rest (a key also seen in another
 * partition, a timestamp going back, a filter's false positive) read the stored version as before.
 */
import type { TopicPartitionId } from '../common/records.js';
import { KeyFilter, keyHashes } from './key-filter.js';

export class FreshVersions {
  private readonly index = new Map<TopicPartitionId, number>();
  private readonly filters: KeyFilter[] = [];
  private readonly maxTimestamps: number[] = [];

  /** `expectedRecords`: records to read per partition (sizes each filter). */
  constructor(expectedRecords: ReadonlyMap<TopicPartitionId, number>) {
    for (const [tp, records] of expectedRecords) this.slot(tp, records);
  }

  /** Notes a record read from `tp`; true when its write must still be compared with the stored version. */
  needsRead(tp: TopicPartitionId, key: Uint8Array, timestamp: number): boolean {
    const own = this.index.get(tp) ?? this.slot(tp, 0);
    const { h1, h2 } = keyHashes(key);
    let elsewhere = false;
    for (let i = 0; i < this.filters.length; i++) {
      if (i !== own && this.filters[i].mayContainHashed(h1, h2)) {
        elsewhere = true;
        break;
      }
    }
    this.filters[own].addHashed(h1, h2);
    const max = this.maxTimestamps[own];
    if (timestamp > max) this.maxTimestamps[own] = timestamp;
    return elsewhere || timestamp < max;
  }

  private slot(tp: TopicPartitionId, records: number): number {
    const slot = this.filters.length;
    this.index.set(tp, slot);
    this.filters.push(new KeyFilter(records));
    this.maxTimestamps.push(-Infinity);
    return slot;
  }
}

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
  private readonly filters = new Map<TopicPartitionId, KeyFilter>();
  private readonly maxTimestamps = new Map<TopicPartitionId, number>();

  /** `expectedRecords`: records to read per partition (sizes each filter). */
  constructor(expectedRecords: ReadonlyMap<TopicPartitionId, number>) {
    for (const [tp, records] of expectedRecords) this.filters.set(tp, new KeyFilter(records));
  }

  /** Notes a record read from `tp`; true when its write must still be compared with the stored version. */
  needsRead(tp: TopicPartitionId, key: Uint8Array, timestamp: number): boolean {
    const hashes = keyHashes(key);
    let elsewhere = false;
    for (const [other, filter] of this.filters) {
      if (other !== tp && filter.mayContainHashed(hashes)) {
        elsewhere = true;
        break;
      }
    }
    const max = this.maxTimestamps.get(tp) ?? -Infinity;
    if (timestamp > max) this.maxTimestamps.set(tp, timestamp);
    let own = this.filters.get(tp);
    if (own === undefined) {
      own = new KeyFilter(0);
      this.filters.set(tp, own);
    }
    own.addHashed(hashes);
    return elsewhere || timestamp < max;
  }
}

/**
 * Dead letters this instance wrote, per stage and source (the topic the failed record came from; for production
 * failures, the topic the output was meant for), counted from the acknowledged dead-letter records themselves, so
 * every path that writes one (task processing, table restoration, global tables, production failures) is counted
 * without each having to report it. `tributary_dead_letters_total{stage,source}` on /metrics and /stats.
 */
import { DeadLetterHeaders } from '../../common/dead-letters.js';
import type { ProducedRecord } from '../../common/records.js';

export interface DeadLetterCount {
  readonly stage: string;
  readonly source: string;
  readonly count: number;
}

const text = (value: Buffer | undefined): string | undefined => (value === undefined ? undefined : value.toString('utf8'));

export class DeadLetterCounts {
  private readonly counts = new Map<string, { stage: string; source: string; count: number }>();

  constructor(private readonly deadLetterTopic: string) {}

  /** Counts the dead letters among records Kafka just acknowledged. */
  acknowledged(records: readonly ProducedRecord[]): void {
    for (const record of records) {
      if (record.topic !== this.deadLetterTopic) continue;
      const { headers } = record;
      const stage = text(headers[DeadLetterHeaders.stage]) ?? 'unknown';
      const source = text(headers[DeadLetterHeaders.sourceTopic]) ?? text(headers[DeadLetterHeaders.targetTopic]) ?? 'unknown';
      const key = `${stage}\u0000${source}`;
      const entry = this.counts.get(key);
      if (entry === undefined) this.counts.set(key, { stage, source, count: 1 });
      else entry.count++;
    }
  }

  snapshot(): DeadLetterCount[] {
    return [...this.counts.values()].map((entry) => ({ ...entry }));
  }
}

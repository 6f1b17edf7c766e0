/**
 * Time windows for windowed aggregations, as in Kafka Streams: `TimeWindows.ofSize(ms)` (tumbling),
 * `.advanceBy(ms)` (hopping), `.grace(ms)` (how late a record may arrive after its window ended). A window is
 * `[start, start + size)`; starts are multiples of the advance, from 0.
 */
import { TopologyBuildError } from '../errors.js';

/** Time windows: `[start, start + sizeMs)` every `advanceMs`; records later than `graceMs` after a window's end are dropped. */
export interface WindowSpec {
  readonly sizeMs: number;
  readonly advanceMs: number;
  readonly graceMs: number;
}

/** A key together with the window its aggregate belongs to: the key type of a windowed table. */
export interface Windowed<K> {
  readonly key: K;
  readonly window: { readonly start: number; readonly end: number };
}

function checkDuration(where: string, name: string, value: number, minimum: number): void {
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new TopologyBuildError(where, `${name} must be an integer number of milliseconds >= ${minimum}, got ${String(value)}.`);
  }
}

export class TimeWindows implements WindowSpec {
  readonly sizeMs: number;
  readonly advanceMs: number;
  readonly graceMs: number;

  private constructor(sizeMs: number, advanceMs: number, graceMs: number) {
    this.sizeMs = sizeMs;
    this.advanceMs = advanceMs;
    this.graceMs = graceMs;
    Object.freeze(this);
  }

  /** Tumbling windows of `sizeMs` (advance = size) with no grace: a record after its window's end is dropped. */
  static ofSize(sizeMs: number): TimeWindows {
    checkDuration(`TimeWindows.ofSize(${sizeMs})`, 'the window size', sizeMs, 1);
    return new TimeWindows(sizeMs, sizeMs, 0);
  }

  /** Hopping windows: a new window starts every `advanceMs` (at most the size), so windows overlap. */
  advanceBy(advanceMs: number): TimeWindows {
    const where = `TimeWindows.ofSize(${this.sizeMs}).advanceBy(${advanceMs})`;
    checkDuration(where, 'the advance', advanceMs, 1);
    if (advanceMs > this.sizeMs) {
      throw new TopologyBuildError(
        where,
        `the advance must not exceed the window size (${this.sizeMs} ms), or records would fall between windows.`,
      );
    }
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs);
  }

  /** Accept records up to `graceMs` after their window's end (in stream time); later ones are dropped and counted. */
  grace(graceMs: number): TimeWindows {
    checkDuration(`TimeWindows.ofSize(${this.sizeMs}).grace(${graceMs})`, 'the grace period', graceMs, 0);
    return new TimeWindows(this.sizeMs, this.advanceMs, graceMs);
  }

  /** Starts of the windows holding `timestamp`, ascending. */
  windowStartsFor(timestamp: number): number[] {
    return windowStartsFor(this, timestamp);
  }
}

/**
 * Starts of the windows of `spec` that contain `timestamp` (Kafka Streams' `TimeWindows.windowsFor`): every multiple of
 * the advance in `(timestamp - size, timestamp]`, never below 0.
 */
export function windowStartsFor(spec: WindowSpec, timestamp: number): number[] {
  const { sizeMs, advanceMs } = spec;
  const starts: number[] = [];
  let start = Math.floor(Math.max(0, timestamp - sizeMs + advanceMs) / advanceMs) * advanceMs;
  for (; start <= timestamp; start += advanceMs) starts.push(start);
  return starts;
}

/**
 * Segment span of a window store with this retention: half of it, so at most three segments hold live windows and
 * each expiry deletes one whole segment. Kafka Streams' rule, without its 60 s floor (which would keep short test
 * windows from ever expiring).
 */
export function defaultSegmentIntervalMs(retentionMs: number): number {
  return Math.max(1, Math.floor(retentionMs / 2));
}

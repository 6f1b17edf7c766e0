/**
 * Progress of long work (bootstrap, restoration, seeding) on a stream: a redrawn one-line bar when the stream is a
 * terminal, plain lines (at most one per `plainIntervalMs`, plus the final one) when it is a pipe or a file.
 * Other output goes through `writeLine`, which keeps the bar below it.
 */
import type { Writable } from 'node:stream';

export interface ProgressOptions {
  /** Default: whether the stream is a TTY. */
  readonly tty?: boolean;
  /** Bar redraws at most this often. Default 100 ms. */
  readonly redrawIntervalMs?: number;
  /** Plain-line mode: one line at most this often. Default 2000 ms. */
  readonly plainIntervalMs?: number;
  readonly barWidth?: number;
  /** Clock (tests). */
  readonly now?: () => number;
  /** Plain-line mode: where lines go instead of the stream (e.g. a JSON logger, to keep a log file parseable). */
  readonly writePlain?: (line: string) => void;
}

export interface ProgressUpdate {
  readonly done: number;
  /** 0 or less: unknown (no percentage). */
  readonly total: number;
  /** Unit of `done`, e.g. "records". */
  readonly unit?: string;
  /** Extra text after the numbers, e.g. the store being restored. */
  readonly detail?: string;
}

const numberFormat = new Intl.NumberFormat('en-US');

export function formatCount(n: number): string {
  return numberFormat.format(Math.round(n));
}

export class ProgressDisplay {
  private readonly stream: Writable & { columns?: number };
  private readonly tty: boolean;
  private readonly redrawIntervalMs: number;
  private readonly plainIntervalMs: number;
  private readonly barWidth: number;
  private readonly now: () => number;
  private readonly writePlain: (line: string) => void;
  private label: string | undefined;
  private startedAt = 0;
  private lastDrawAt = Number.NEGATIVE_INFINITY;
  private barVisible = false;
  private last: ProgressUpdate | undefined;

  constructor(stream: Writable & { isTTY?: boolean; columns?: number }, options: ProgressOptions = {}) {
    this.stream = stream;
    this.tty = options.tty ?? stream.isTTY === true;
    this.redrawIntervalMs = options.redrawIntervalMs ?? 100;
    this.plainIntervalMs = options.plainIntervalMs ?? 2000;
    this.barWidth = options.barWidth ?? 24;
    this.now = options.now ?? (() => performance.now());
    this.writePlain = options.writePlain ?? ((line) => this.stream.write(`${line}\n`));
  }

  get isTty(): boolean {
    return this.tty;
  }

  /** Starts (or restarts) a task; its first update draws immediately. */
  begin(label: string): void {
    if (this.label !== undefined) this.clearBar();
    this.label = label;
    this.startedAt = this.now();
    this.lastDrawAt = Number.NEGATIVE_INFINITY;
    this.last = undefined;
  }

  update(update: ProgressUpdate): void {
    if (this.label === undefined) return;
    this.last = update;
    const now = this.now();
    if (now - this.lastDrawAt < (this.tty ? this.redrawIntervalMs : this.plainIntervalMs)) return;
    this.lastDrawAt = now;
    this.draw(update, false);
  }

  /** Ends the task with a final line (always printed, in both modes). */
  finish(message?: string): void {
    if (this.label === undefined) return;
    const last = this.last;
    this.clearBar();
    const seconds = (this.now() - this.startedAt) / 1000;
    const summary =
      message ?? (last ? `${formatCount(last.done)} ${last.unit ?? 'done'} in ${seconds.toFixed(1)} s` : `done in ${seconds.toFixed(1)} s`);
    const line = `${this.label}: ${summary}`;
    if (this.tty) this.stream.write(`${line}\n`);
    else this.writePlain(line);
    this.label = undefined;
    this.last = undefined;
  }

  /** Writes a line of other output; a visible bar is cleared first and redrawn after. */
  writeLine(text: string): void {
    const hadBar = this.barVisible;
    this.clearBar();
    this.stream.write(text.endsWith('\n') ? text : `${text}\n`);
    if (hadBar && this.last !== undefined) this.draw(this.last, true);
  }

  /** The text of one progress line (also used for the plain lines). */
  render(update: ProgressUpdate): string {
    const seconds = Math.max((this.now() - this.startedAt) / 1000, 0.001);
    const rate = update.done / seconds;
    const unit = update.unit ?? '';
    const parts: string[] = [];
    if (update.total > 0) {
      const fraction = Math.min(1, Math.max(0, update.done / update.total));
      const filled = Math.round(fraction * this.barWidth);
      const bar = this.tty ? `[${'#'.repeat(filled)}${'-'.repeat(this.barWidth - filled)}] ` : '';
      parts.push(
        `${bar}${(fraction * 100).toFixed(0).padStart(3)}% ${formatCount(update.done)}/${formatCount(update.total)} ${unit}`.trimEnd(),
      );
    } else {
      parts.push(`${formatCount(update.done)} ${unit}`.trimEnd());
    }
    if (update.done > 0) parts.push(`${formatCount(rate)}/s`);
    if (update.detail) parts.push(update.detail);
    return `${this.label ?? ''}: ${parts.join('  ')}`;
  }

  private draw(update: ProgressUpdate, force: boolean): void {
    const line = this.render(update);
    if (!this.tty) {
      if (!force) this.writePlain(line);
      return;
    }
    const width = this.stream.columns || 100; // 0 or undefined when the terminal size is unknown
    // \r + erase line, then the bar cut to the terminal width so it never wraps.
    this.stream.write(`\r\x1b[2K${line.slice(0, Math.max(10, width - 1))}`);
    this.barVisible = true;
  }

  private clearBar(): void {
    if (this.tty && this.barVisible) this.stream.write('\r\x1b[2K');
    this.barVisible = false;
  }
}

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProgressDisplay } from './progress.js';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('ProgressDisplay', () => {
  it('draws a bar on a terminal, throttled, and keeps it below other lines', () => {
    const out = new Capture();
    const time = clock();
    const display = new ProgressDisplay(out, { tty: true, now: time.now, barWidth: 10 });
    display.begin('Restoring');
    time.advance(1000);
    display.update({ done: 50, total: 100, unit: 'records' });
    expect(out.text).toBe('\r\x1b[2KRestoring: [#####-----]  50% 50/100 records  50/s');
    display.update({ done: 60, total: 100 }); // within the redraw interval: not drawn
    expect(out.text).not.toContain('60/100');
    display.writeLine('a log line');
    expect(out.text.endsWith('\r\x1b[2Ka log line\n\r\x1b[2KRestoring: [######----]  60% 60/100  60/s')).toBe(true);
    display.finish('done');
    expect(out.text.endsWith('\r\x1b[2KRestoring: done\n')).toBe(true);
  });

  it('prints plain lines at most once per interval off a terminal, and always the final line', () => {
    const lines: string[] = [];
    const time = clock();
    const display = new ProgressDisplay(new Capture(), {
      tty: false,
      now: time.now,
      plainIntervalMs: 2000,
      writePlain: (l) => lines.push(l),
    });
    display.begin('Seeding');
    for (let i = 1; i <= 10; i++) {
      time.advance(500);
      display.update({ done: i * 10, total: 100, unit: 'records' });
    }
    // t=500 drawn, then every 2000 ms: 2500, 4500
    expect(lines).toEqual([
      'Seeding:  10% 10/100 records  20/s',
      'Seeding:  50% 50/100 records  20/s',
      'Seeding:  90% 90/100 records  20/s',
    ]);
    display.finish();
    expect(lines[3]).toBe('Seeding: 100 records in 5.0 s');
    expect(lines.join('')).not.toContain('\x1b');
  });

  it('shows counts without a percentage when the total is unknown', () => {
    const time = clock();
    const display = new ProgressDisplay(new Capture(), { tty: false, now: time.now });
    display.begin('Reading');
    time.advance(2000);
    expect(display.render({ done: 4000, total: 0, unit: 'records', detail: 'orders' })).toBe('Reading: 4,000 records  2,000/s  orders');
  });
});

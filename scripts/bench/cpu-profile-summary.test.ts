import { describe, expect, it } from 'vitest';
import { areaOf, summarizeProfile, type CpuProfile } from './cpu-profile-summary.js';

const NM = '/repo/node_modules';

describe('CPU profile summary', () => {
  it('puts frames into the areas the comparison reports', () => {
    expect(areaOf('decode', `file://${NM}/kafkajs/src/protocol/recordBatch/record/v0/decoder.js`)).toBe('kafkajs fetch + decode');
    expect(areaOf('readInt32', `file://${NM}/kafkajs/src/protocol/decoder.js`)).toBe('kafkajs fetch + decode');
    expect(areaOf('Record', `file://${NM}/kafkajs/src/protocol/recordBatch/record/v0/index.js`)).toBe(
      'kafkajs produce + encode (incl. CRC32C)',
    );
    expect(areaOf('writeVarInt', `file://${NM}/kafkajs/src/protocol/encoder.js`)).toBe('kafkajs produce + encode (incl. CRC32C)');
    expect(areaOf('parse', '')).toBe('JSON.parse / JSON.stringify');
    expect(areaOf('serialize', 'file:///repo/topology/serdes.ts')).toBe('serdes: serialize (JSON.stringify, Buffer.from)');
    expect(areaOf('', 'file:///repo/topology/serdes.ts')).toBe('serdes: deserialize (UTF-8 decode, JSON.parse)');
    expect(areaOf('unpack', `file://${NM}/msgpackr/unpack.js`)).toBe('msgpackr');
    expect(areaOf('getMany', `file://${NM}/classic-level/index.js`)).toBe('LevelDB (classic-level / abstract-level)');
    expect(areaOf('process', 'file:///repo/processor/engine/stream-task.ts')).toBe('tributary engine (StreamTask, joins)');
    expect(areaOf('(garbage collector)', '')).toBe('gc');
  });

  it('charges Buffer internals and natives to the nearest caller with a specific area', () => {
    const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({
      id,
      callFrame: { functionName, url, lineNumber: 0 },
      children,
    });
    const profile: CpuProfile = {
      nodes: [
        frame(1, '(root)', '', [2, 5]),
        frame(2, 'Record', `file://${NM}/kafkajs/src/protocol/recordBatch/record/v0/index.js`, [3]),
        frame(3, 'alloc', 'node:buffer', [4]),
        frame(4, 'FastBuffer', 'node:internal/buffer'),
        frame(5, 'writeBuffer', ''),
      ],
      samples: [4, 4, 5],
      timeDeltas: [2000, 2000, 1000],
      startTime: 0,
      endTime: 5000,
    };
    const summary = summarizeProfile(profile);
    expect(summary.areas.map((a) => a.area)).toEqual(['node internals', 'V8 builtins / native']);
    expect(summary.areasByCaller).toEqual([
      { area: 'kafkajs produce + encode (incl. CRC32C)', ms: 4, percent: 80 },
      { area: 'V8 builtins / native', ms: 1, percent: 20 },
    ]);
  });

  it('adds up self time per area and function, idle left out of the percentages', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
        { id: 3, callFrame: { functionName: 'parse', url: '', lineNumber: -1 } },
        { id: 4, callFrame: { functionName: 'decode', url: `file://${NM}/kafkajs/src/protocol/decoder.js`, lineNumber: 9 } },
      ],
      samples: [2, 3, 4, 3, 2],
      timeDeltas: [1000, 3000, 1000, 3000, 5000],
      startTime: 0,
      endTime: 13_000,
    };
    const summary = summarizeProfile(profile);
    expect(summary.sampledMs).toBe(7);
    expect(summary.areas).toEqual([
      { area: 'JSON.parse / JSON.stringify', ms: 6, percent: 85.7 },
      { area: 'kafkajs fetch + decode', ms: 1, percent: 14.3 },
    ]);
    expect(summary.areasByCaller).toEqual(summary.areas);
    expect(summary.functions[1]).toEqual({
      function: 'decode',
      where: 'kafkajs/src/protocol/decoder.js:10',
      area: 'kafkajs fetch + decode',
      ms: 1,
      percent: 14.3,
    });
  });
});

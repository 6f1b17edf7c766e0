import net from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { framedSocketFactory, ResponseFramer } from './response-framing.js';

/** Size-prefixed frames as a broker writes them. */
function frames(payloads: readonly Uint8Array[]): Buffer[] {
  return payloads.map((p) => {
    const frame = Buffer.alloc(4 + p.length);
    frame.writeInt32BE(p.length, 0);
    frame.set(p, 4);
    return frame;
  });
}

const payloads = fc.array(
  fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: 20 }), weight: 4 },
    { arbitrary: fc.integer({ min: 60_000, max: 150_000 }).map((n) => new Uint8Array(n).fill(n % 251)), weight: 1 },
  ),
  { maxLength: 6 },
);

describe('ResponseFramer', () => {
  it('cuts any chunking of the stream into the frames, each whole in its own buffer', () => {
    fc.assert(
      fc.property(
        payloads,
        fc.array(fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 4_000, max: 70_000 })), { minLength: 1, maxLength: 10 }),
        (ps, cuts) => {
          const expected = frames(ps);
          const stream = Buffer.concat(expected);
          const got: Buffer[] = [];
          const framer = new ResponseFramer((frame) => got.push(Buffer.from(frame)));
          // Reads as a socket does them: into framer.buffer(), at most its length, chunk sizes from `cuts`.
          for (let pos = 0, c = 0; pos < stream.length; c++) {
            const into = framer.buffer();
            const n = Math.min(into.length, cuts[c % cuts.length] as number, stream.length - pos);
            stream.copy(into, 0, pos, pos + n);
            framer.read(n, into);
            pos += n;
          }
          expect(got.length).toBe(expected.length);
          got.forEach((frame, i) => expect(frame.equals(expected[i] as Buffer)).toBe(true));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('framedSocketFactory', () => {
  it("emits the server's frames whole as 'data', whatever the writes' sizes", async () => {
    const expected = frames([new Uint8Array(3), new Uint8Array(300_000).fill(7), new Uint8Array(0), new Uint8Array(70_000).fill(9)]);
    const stream = Buffer.concat(expected);
    const server = net.createServer((connection) => {
      // Odd-sized writes with pauses: frames split across reads and several frames in one read.
      let pos = 0;
      const step = (): void => {
        if (pos >= stream.length) return void connection.end();
        const n = Math.min(stream.length - pos, pos % 2 === 0 ? 50_001 : 5);
        connection.write(stream.subarray(pos, pos + n));
        pos += n;
        setImmediate(step);
      };
      step();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const got = await new Promise<Buffer[]>((resolve, reject) => {
        const received: Buffer[] = [];
        const socket = framedSocketFactory()({ host: '127.0.0.1', port, ssl: {}, onConnect: () => undefined }) as net.Socket;
        socket.on('data', (frame: Buffer) => received.push(Buffer.from(frame)));
        socket.on('end', () => resolve(received));
        socket.on('error', reject);
      });
      expect(got.length).toBe(expected.length);
      got.forEach((frame, i) => expect(frame.equals(expected[i] as Buffer)).toBe(true));
    } finally {
      server.close();
    }
  });
});

describe("kafkajs's connection with the patch", () => {
  it('takes every whole response as it is, without copying it (also after the first)', async () => {
    const { installed } = await import('./response-framing.js');
    expect(installed).toBe(true);
    const { loadKafkajsModule } = await import('./kafkajs-module.js');
    const Connection = loadKafkajsModule<{ prototype: object }>('kafkajs/src/network/connection.js');
    const payloads: Buffer[] = [];
    // The state kafkajs's constructor leaves for reading responses, and a request queue that keeps what it gets.
    const connection = Object.assign(Object.create(Connection.prototype) as { processData(data: Buffer): void }, {
      chunks: [],
      bytesBuffered: 0,
      bytesNeeded: 4,
      authHandlers: null,
      requestQueue: { fulfillRequest: ({ payload }: { payload: Buffer }) => payloads.push(payload) },
    });
    const responses = frames([Buffer.from([0, 0, 0, 1, 7, 7]), Buffer.from([0, 0, 0, 2, 8]), Buffer.from([0, 0, 0, 3])]);
    for (const response of responses) connection.processData(response);
    expect(payloads.map((p) => [...p])).toEqual([[7, 7], [8], []]);
    payloads.forEach((payload, i) => expect(payload.buffer).toBe((responses[i] as Buffer).buffer));
  });
});

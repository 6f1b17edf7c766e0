/**
 * The HTTP load client of http-load.ts, on its own thread (own event loop, own undici pool), so the servers' CPU per
 * request can be told apart from the client's: each job answers with its result and the CPU this thread used for it.
 */
import { parentPort } from 'node:worker_threads';
import { Agent } from 'undici';
import { runPacedLoop, runRequestLoop, type PacedLoopResult, type RequestLoopResult } from './request-loop.js';

export type RequestJob =
  | {
      readonly kind: 'saturate';
      readonly paths: readonly string[];
      readonly count: number;
      readonly concurrency: number;
      readonly maxSeconds: number;
    }
  | { readonly kind: 'paced'; readonly paths: readonly string[]; readonly rate: number; readonly seconds: number };

export interface RequestJobResult {
  readonly result: RequestLoopResult | PacedLoopResult;
  /** CPU (user + system, µs) of the client thread during the job. */
  readonly clientCpuUs: number;
}

const port = parentPort;
if (port !== null) {
  let dispatcher: Agent | undefined;
  port.on('message', (message: RequestJob | 'close') => {
    void (async () => {
      if (message === 'close') {
        await dispatcher?.close();
        port.close();
        return;
      }
      dispatcher ??= new Agent({ connections: 256, keepAliveTimeout: 30_000 });
      const before = process.threadCpuUsage();
      const result =
        message.kind === 'saturate'
          ? await runRequestLoop(dispatcher, message.paths, message.count, message.concurrency, message.maxSeconds)
          : await runPacedLoop(dispatcher, message.paths, message.rate, message.seconds);
      const used = process.threadCpuUsage(before);
      port.postMessage({ result, clientCpuUs: used.user + used.system } satisfies RequestJobResult);
    })();
  });
}

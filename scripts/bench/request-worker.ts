/**
 * The HTTP load client of http-load.ts, on its own thread (own event loop, own undici pool), so the servers' CPU per
 * request can be told apart from the client's: each job answers with its result and the CPU this thread used for it.
 */
import { parentPort } from 'node:worker_threads';
import { Agent } from 'undici';
import { runRequestLoop, type RequestLoopResult } from './request-loop.js';

export interface RequestJob {
  readonly kind: 'saturate';
  readonly paths: readonly string[];
  readonly count: number;
  readonly concurrency: number;
  readonly maxSeconds: number;
}

export interface RequestJobResult {
  readonly result: RequestLoopResult;
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
      const result = await runRequestLoop(dispatcher, message.paths, message.count, message.concurrency, message.maxSeconds);
      const used = process.threadCpuUsage(before);
      port.postMessage({ result, clientCpuUs: used.user + used.system } satisfies RequestJobResult);
    })();
  });
}

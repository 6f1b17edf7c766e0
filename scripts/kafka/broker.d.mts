// Types for broker.mjs (plain ESM so it runs without a build step).
export declare const REPO_ROOT: string;
export declare const DEFAULT_KAFKA_VERSION: string;
export declare const DEFAULT_KAFKA4_VERSION: string;

export interface StartBrokerOptions {
  /** Kafka version on Maven Central (kafka_2.13). Default: DEFAULT_KAFKA_VERSION. */
  version?: string;
  /** PLAINTEXT port on 127.0.0.1; a free one when omitted. */
  port?: number;
  /** CONTROLLER port on 127.0.0.1; a free one when omitted. */
  controllerPort?: number;
  /** Broker data dir (kept on stop when given); a fresh temp dir (removed on stop) when omitted. */
  dataDir?: string;
  /** Where the broker's stdout/stderr go; default .kafka/logs/broker-<version>-<port>-<time>.log. */
  logFile?: string;
  readyTimeoutMs?: number;
  quiet?: boolean;
  /** Extra server.properties lines (`key=value`), after the defaults so they override them (e.g. `group.initial.rebalance.delay.ms=3000`). */
  properties?: readonly string[];
}

export interface BrokerHandle {
  /** Bootstrap address, `127.0.0.1:<port>`. */
  brokers: string;
  port: number;
  controllerPort: number;
  pid: number;
  logFile: string;
  dataDir: string;
  version: string;
  /** Milliseconds from the call to readiness (includes a jar fetch when not cached). */
  startMillis: number;
  ownsDataDir: boolean;
}

export declare function kafkaCacheDir(version: string): string;
export declare function fetchJars(version?: string, options?: { quiet?: boolean }): Promise<string>;
export declare function findFreePort(): Promise<number>;
export declare function newClusterId(): string;
export declare function serverProperties(options: { port: number; controllerPort: number; logDirs: string }): string;
export declare function isRunning(pid: number): boolean;
export declare function startBroker(options?: StartBrokerOptions): Promise<BrokerHandle>;
export declare function stopBroker(
  pidOrHandle: number | (Pick<BrokerHandle, 'pid'> & Partial<Pick<BrokerHandle, 'dataDir' | 'ownsDataDir'>>),
  options?: { graceMs?: number },
): Promise<void>;

/**
 * Builds and launches the Kafka Streams side of the comparison (scripts/bench/kafka-streams/). Maven fetches its
 * runtime jars with the pinned dependency plugin (like scripts/kafka/ does for the broker) and compiles the one
 * source file; everything lands in .kafka/bench-kafka-streams/<version>/ (git-ignored) and is reused until the POM
 * or the source changes.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../kafka/broker.mjs';

export const DEFAULT_KAFKA_STREAMS_VERSION = '3.9.1';
/** Heap capped at 1 GiB (initial size left to the JVM) so peak RSS comparisons mean something; the output states the flags. */
export const KAFKA_STREAMS_JVM_FLAGS: readonly string[] = ['-Xmx1g', '-XX:+UseG1GC'];
export const KAFKA_STREAMS_MAIN = 'dev.tributary.bench.KafkaStreamsBench';

const PROJECT = join(REPO_ROOT, 'scripts', 'bench', 'kafka-streams');
const POM = join(PROJECT, 'pom.xml');
const SOURCE = join(PROJECT, 'src', 'main', 'java', 'dev', 'tributary', 'bench', 'KafkaStreamsBench.java');
const LOG4J = join(PROJECT, 'log4j.properties');
const COMPLETE = '.complete';

export interface KafkaStreamsApp {
  readonly version: string;
  readonly classpath: string;
  readonly jvmFlags: readonly string[];
}

export function kafkaStreamsCacheDir(version: string): string {
  return join(REPO_ROOT, '.kafka', 'bench-kafka-streams', version);
}

function run(command: string, args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, [...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error) => resolve({ code: -1, output: `${output}${String(error)}` }));
    child.once('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Fetches the jars (once per version) and compiles the app (when the POM or source changed). */
export async function prepareKafkaStreamsApp(
  version = DEFAULT_KAFKA_STREAMS_VERSION,
  onProgress: (message: string) => void = () => {},
): Promise<KafkaStreamsApp> {
  const cache = kafkaStreamsCacheDir(version);
  const libs = join(cache, 'libs');
  mkdirSync(cache, { recursive: true });
  if (!existsSync(join(libs, COMPLETE))) {
    onProgress(`fetching Kafka Streams ${version} jars from Maven Central into ${libs}`);
    const staging = join(cache, `libs-fetching-${process.pid}`);
    rmSync(staging, { recursive: true, force: true });
    const fetched = await run('mvn', [
      '-B',
      '-q',
      '-f',
      POM,
      `-Dkafka.streams.version=${version}`,
      'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${staging}`,
    ]);
    if (fetched.code !== 0 || !existsSync(join(staging, `kafka-streams-${version}.jar`))) {
      rmSync(staging, { recursive: true, force: true });
      throw new Error(
        `mvn could not fetch Kafka Streams ${version} (exit ${fetched.code}). Is Maven installed and Maven Central reachable?\n${tail(fetched.output)}`,
      );
    }
    writeFileSync(join(staging, COMPLETE), `${new Date().toISOString()}\n`);
    rmSync(libs, { recursive: true, force: true });
    renameSync(staging, libs);
  }

  const target = join(cache, 'target');
  const classes = join(target, 'classes');
  const stampFile = join(cache, 'build.stamp');
  const stamp = createHash('sha256').update(readFileSync(POM)).update(readFileSync(SOURCE)).digest('hex');
  const built = existsSync(join(classes, 'dev', 'tributary', 'bench', 'KafkaStreamsBench.class'));
  if (!built || !existsSync(stampFile) || readFileSync(stampFile, 'utf8').trim() !== stamp) {
    onProgress(`compiling the Kafka Streams bench app (${version}) into ${target}`);
    rmSync(target, { recursive: true, force: true });
    const compiled = await run('mvn', [
      '-B',
      '-q',
      '-f',
      POM,
      `-Dkafka.streams.version=${version}`,
      `-Dbench.build.dir=${target}`,
      'compile',
    ]);
    if (compiled.code !== 0) throw new Error(`mvn could not compile ${SOURCE} (exit ${compiled.code}):\n${tail(compiled.output)}`);
    writeFileSync(stampFile, `${stamp}\n`);
  }
  const jars = readdirSync(libs).filter((name) => name.endsWith('.jar'));
  if (!jars.some((name) => name.startsWith('kafka-streams-'))) throw new Error(`${libs} holds no kafka-streams jar; delete it to refetch`);
  return {
    version,
    classpath: `${classes}:${join(libs, '*')}`,
    jvmFlags: [...KAFKA_STREAMS_JVM_FLAGS, `-Dlog4j.configuration=file:${LOG4J}`],
  };
}

function javaBinary(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/** Command line of one Kafka Streams bench process. */
export function kafkaStreamsCommand(app: KafkaStreamsApp, workload: string, args: readonly string[]): { command: string; args: string[] } {
  return { command: javaBinary(), args: [...app.jvmFlags, '-cp', app.classpath, KAFKA_STREAMS_MAIN, workload, ...args] };
}

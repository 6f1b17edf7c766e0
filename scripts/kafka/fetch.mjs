// `npm run kafka:fetch`: download broker jars ahead of time (CI cache warm-up). KAFKA_VERSION picks the version;
// `--all` fetches the default 3.x and 4.x versions used by the test projects.
import { DEFAULT_KAFKA4_VERSION, DEFAULT_KAFKA_VERSION, fetchJars } from './broker.mjs';

const versions = process.argv.includes('--all')
  ? [DEFAULT_KAFKA_VERSION, DEFAULT_KAFKA4_VERSION]
  : [process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION];
try {
  for (const version of versions) {
    const began = Date.now();
    const libs = await fetchJars(version);
    console.log(`Kafka ${version}: ${libs} (${Date.now() - began} ms)`);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}

import { configDefaults, defineConfig } from 'vitest/config';

// Two kinds of tests:
// - unit: `*.test.ts` next to the code; real LevelDB in temp dirs, no broker.
// - integration: `test/**/*.test.ts` against a real Kafka broker that the global setup starts (or KAFKA_BROKERS).
//   Files run one at a time: they share one broker on a 2-core machine and start child processes.
// - contract-kafka4: the broker contract tests again, against the newest Kafka 4.x broker.
// - bench-smoke (`npm run test:bench-smoke`, not in `npm test`): the Kafka Streams comparison end to end, tiny data.
// - soak: longer variants of integration tests (`test/soak/`, `npm run test:soak`), not part of `npm test`.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{common,topology,state-store,processor,http-query,cli,scripts}/**/*.test.ts', '*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/soak/**'],
          environment: 'node',
          globalSetup: ['test/setup/kafka-global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'bench-smoke',
          include: ['test/bench/**/*.smoke.ts'],
          environment: 'node',
          globalSetup: ['test/setup/kafka-global-setup.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'soak',
          include: ['test/soak/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/kafka-global-setup.ts'],
          fileParallelism: false,
          testTimeout: 900_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'contract-kafka4',
          include: ['test/contract/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/kafka4-global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});

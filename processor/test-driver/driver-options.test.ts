import { describe, expect, it } from 'vitest';
import { TestDriverOptionsError } from '../../errors.js';
import { StreamsBuilder } from '../../topology/builder.js';
import { Serdes } from '../../topology/serdes.js';
import type { Topology } from '../../topology/topology.js';
import { TopologyTestDriver } from './topology-test-driver.js';

function repartitionedTopology(): Topology {
  const b = new StreamsBuilder();
  b.stream('orders', { key: Serdes.string(), value: Serdes.json<{ customerId: string }>() })
    .repartition({ name: 'by-customer', key: Serdes.string() })
    .to('out');
  return b.build({ applicationId: 'shop' });
}

/** What a caller the types do not reach (JavaScript, tsx) can pass. */
function construct(topology: unknown, options?: unknown): TestDriverOptionsError {
  try {
    new TopologyTestDriver(topology as Topology, options as never);
  } catch (error) {
    expect(error).toBeInstanceOf(TestDriverOptionsError);
    return error as TestDriverOptionsError;
  }
  throw new Error('expected a TestDriverOptionsError');
}

describe('TopologyTestDriver checks its arguments at construction', () => {
  const topology = repartitionedTopology();

  it('a per-topic map given as `partitions` names the option and points to topicPartitions', () => {
    const error = construct(topology, { partitions: { orders: 4 } });
    expect(error.code).toBe('TRIBUTARY_TEST_DRIVER_OPTIONS_INVALID');
    expect(error.problems).toEqual([
      'partitions: must be a positive integer (the count of every topic not in topicPartitions), got an object with keys [orders]; ' +
        'per-topic counts go in topicPartitions, e.g. { topicPartitions: { orders: 4 } }',
    ]);
    expect(error.message).toContain('Invalid TopologyTestDriver arguments; fix these:\n  - partitions:');
  });

  it('lists every problem at once, each naming its option', () => {
    const error = construct(topology, {
      partitions: 0,
      topicPartitions: { orders: '4', 'shop-by-customer-repartition': 2 },
      storeFactory: 'leveldb',
      errorPolicy: { processing: 'skip', deadLetterTopic: '', deadLetter: 'dlq' },
      startTimeMs: -1,
      maxTaskIdleMs: 1.5,
      logger: console.log,
      partition: 4,
    });
    expect(error.problems.map((problem) => problem.slice(0, problem.indexOf(':')))).toEqual([
      'partition',
      'partitions',
      "topicPartitions['orders']",
      "topicPartitions['shop-by-customer-repartition']",
      'storeFactory',
      'errorPolicy.deadLetter',
      'errorPolicy.processing',
      'errorPolicy.deadLetterTopic',
      'startTimeMs',
      'maxTaskIdleMs',
      'logger',
    ]);
    expect(error.problems[0]).toContain('not an option of TopologyTestDriver (options: partitions, topicPartitions,');
    expect(error.problems[2]).toContain('got "4"');
    expect(error.problems[3]).toContain('a repartition topic takes its count from the topology');
    expect(error.problems[6]).toContain('must be one of dead-letter, fail, log-and-skip, got "skip"');
    expect(error.problems[10]).toContain('missing: debug, info, warn, error');
  });

  it('rejects what is not a topology or not an options object', () => {
    const builder = new StreamsBuilder();
    expect(construct(builder).problems).toEqual([
      'topology: expected the Topology that builder.build({ applicationId }) returns, got an object with keys [state, built]',
    ]);
    expect(construct(topology, 4).problems).toEqual(['options: expected an object such as { partitions: 4 }, got 4']);
    expect(construct(topology, new Map([['orders', 4]])).problems[0]).toContain('got a Map of 1');
  });

  it('accepts every valid option', async () => {
    const driver = new TopologyTestDriver(topology, {
      partitions: 2,
      topicPartitions: { orders: 3, out: 1 },
      storeFactory: undefined,
      errorPolicy: { deserialization: 'log-and-skip', processing: 'fail', production: 'dead-letter', deadLetterTopic: 'dead' },
      startTimeMs: 1000,
      maxTaskIdleMs: 0,
      logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
    expect(driver.partitionsOf('orders')).toBe(3);
    expect(driver.partitionsOf('shop-by-customer-repartition')).toBe(3);
    expect(driver.partitionsOf('elsewhere')).toBe(2);
    await driver.inputTopic('orders', Serdes.string(), Serdes.json()).pipe('o1', { customerId: 'c1' });
    expect(driver.outputTopic('out', Serdes.string(), Serdes.json()).readKeyValues()).toEqual([{ key: 'o1', value: { customerId: 'c1' } }]);
    await driver.close();
  });
});

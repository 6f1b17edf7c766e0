/**
 * `tributary describe <module>`: prints the topology's sub-topologies, stores and internal topics (or a Mermaid
 * flowchart). Needs no Kafka.
 */
import { loadTopology } from '../topology-module.js';
import { CommandLine, renderOptions, type SettingSpec } from '../settings.js';
import { ExitCode, type CliCommand } from '../command.js';

const SETTINGS: readonly SettingSpec[] = [
  { flag: 'application-id', type: 'string', placeholder: '<id>', description: 'Passed to a topology factory (names the internal topics)' },
  { flag: 'mermaid', type: 'boolean', env: false, description: 'Print a Mermaid flowchart instead of the text description' },
];

const usage = `Usage: tributary describe <module> [options]

Prints the topology a module exports: sub-topologies, stores, repartition topics.

Options:
${renderOptions(SETTINGS)}

Examples:
  tributary describe examples/order-enrichment.ts
  tributary describe examples/order-enrichment.ts --mermaid > topology.mmd`;

export const describeCommand: CliCommand = {
  name: 'describe',
  summary: 'Print the topology of a module (text or --mermaid)',
  usage,
  async run(argv) {
    const line = CommandLine.parse('describe', SETTINGS, argv, process.env);
    if (line.help) {
      process.stdout.write(`${usage}\n`);
      return ExitCode.ok;
    }
    line.expectPositionals(['module']);
    const applicationId = line.applicationId('application-id', false);
    line.throwIfProblems();
    const topology = await loadTopology(line.positionals[0], { applicationId });
    const text = line.boolean('mermaid') ? topology.toMermaid() : topology.describe();
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    return ExitCode.ok;
  },
};

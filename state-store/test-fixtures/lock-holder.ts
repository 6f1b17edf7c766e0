/**
 * Child process for the lock test: opens a StateDirectory (and one store), prints "locked", then waits to be killed.
 * Usage: node --import tsx lock-holder.ts <stateDir> <applicationId>
 */
import { StateDirectory } from '../state-directory.js';

const [stateDir, applicationId] = process.argv.slice(2);
if (stateDir === undefined || applicationId === undefined) {
  process.stderr.write('usage: lock-holder.ts <stateDir> <applicationId>\n');
  process.exit(2);
}
const directory = await StateDirectory.open({ stateDir, applicationId });
await directory.openStore('held', 0);
process.stdout.write('locked\n');
setInterval(() => {}, 60_000);

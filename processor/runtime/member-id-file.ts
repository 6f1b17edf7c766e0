/**
 * The group member id of the running incarnation, kept in the state directory (`member.<group role>.id`), so the next
 * incarnation can remove a crashed one's member from the group before joining (see MemberIdStore in
 * processor/kafka/group-member.ts). The state directory lock guarantees one process per directory, so the id read
 * at start can only belong to a dead process.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MemberIdStore } from '../kafka/group-member.js';

/** `role` names the group (`tasks`, `global-dead-letters`): an instance is a member of each. */
export function memberIdFile(appDir: string, role: string): MemberIdStore {
  const file = join(appDir, `member.${role}.id`);
  return {
    async load() {
      try {
        const stored = (await readFile(file, 'utf8')).trim();
        return stored === '' ? undefined : stored;
      } catch {
        return undefined; // first start in this state directory
      }
    },
    async save(memberId) {
      // Write then rename: a crash mid-write leaves the previous id, never half of one.
      const temporary = `${file}.tmp`;
      await writeFile(temporary, `${memberId}\n`);
      await rename(temporary, file);
    },
  };
}

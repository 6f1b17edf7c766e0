import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memberIdFile } from './member-id-file.js';

describe('memberIdFile', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('reads back the last saved id per group role, nothing before the first save', async () => {
    dir = await mkdtemp(join(tmpdir(), 'member-id-'));
    const tasks = memberIdFile(dir, 'tasks');
    expect(await tasks.load()).toBeUndefined();
    await tasks.save('app-a-1');
    await tasks.save('app-a-2');
    expect(await memberIdFile(dir, 'tasks').load()).toBe('app-a-2');
    expect(await memberIdFile(dir, 'global-dead-letters').load()).toBeUndefined();
    expect(await readFile(join(dir, 'member.tasks.id'), 'utf8')).toBe('app-a-2\n');
  });
});

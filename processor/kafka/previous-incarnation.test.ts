import { describe, expect, it } from 'vitest';
import type { Cluster, PartitionAssigner } from 'kafkajs';
import { silentLogger } from '../../common/logger.js';
import type { MemberIdStore } from './group-member.js';
import { PreviousIncarnation, removePreviousIncarnation } from './previous-incarnation.js';

function memoryStore(initial?: string): MemberIdStore & { saved: string[] } {
  const saved: string[] = [];
  return {
    saved,
    load: () => Promise.resolve(saved.at(-1) ?? initial),
    save: (memberId) => {
      saved.push(memberId);
      return Promise.resolve();
    },
  };
}

function coordinator(
  leaveGroup: (request: { groupId: string; memberId: string }) => Promise<unknown>,
): Pick<Cluster, 'findGroupCoordinator' | 'refreshMetadataIfNecessary'> {
  return {
    refreshMetadataIfNecessary: () => Promise.resolve(),
    findGroupCoordinator: () => Promise.resolve({ leaveGroup } as unknown as Awaited<ReturnType<Cluster['findGroupCoordinator']>>),
  };
}

/** Captures the cluster the way kafkajs hands it to assigner factories when it builds a consumer. */
function built(incarnation: PreviousIncarnation, cluster: Pick<Cluster, 'findGroupCoordinator' | 'refreshMetadataIfNecessary'>): void {
  const factory: PartitionAssigner = () => ({
    name: 'x',
    version: 1,
    protocol: () => ({ name: 'x', metadata: Buffer.alloc(0) }),
    assign: () => Promise.resolve([]),
  });
  incarnation.assigner(factory)({ cluster: cluster as Cluster, groupId: 'g', logger: undefined as never });
}

describe('PreviousIncarnation', () => {
  it('sends LeaveGroup for the member id the previous incarnation saved', async () => {
    const left: { groupId: string; memberId: string }[] = [];
    const incarnation = new PreviousIncarnation('g', memoryStore('ghost-1'), silentLogger);
    built(
      incarnation,
      coordinator((request) => Promise.resolve(left.push(request))),
    );
    await incarnation.leave();
    expect(left).toEqual([{ groupId: 'g', memberId: 'ghost-1' }]);
  });

  it('does nothing on a first start (no saved id) or without a store', async () => {
    let calls = 0;
    const cluster = coordinator(() => Promise.resolve(calls++));
    const first = new PreviousIncarnation('g', memoryStore(), silentLogger);
    built(first, cluster);
    await first.leave();
    const none = new PreviousIncarnation('g', undefined, silentLogger);
    built(none, cluster);
    await none.leave();
    expect(calls).toBe(0);
  });

  it('saves every new member id once, in order', async () => {
    const store = memoryStore();
    const incarnation = new PreviousIncarnation('g', store, silentLogger);
    incarnation.joined('m1');
    incarnation.joined('m1');
    incarnation.joined('m2');
    await incarnation.settled();
    expect(store.saved).toEqual(['m1', 'm2']);
  });
});

describe('removePreviousIncarnation', () => {
  it('treats a member that is already gone as done, and never throws', async () => {
    const unknownMember = Object.assign(new Error('The coordinator is not aware of this member'), { type: 'UNKNOWN_MEMBER_ID' });
    await expect(
      removePreviousIncarnation(
        coordinator(() => Promise.reject(unknownMember)),
        'g',
        'm',
        silentLogger,
      ),
    ).resolves.toBe(false);
    await expect(
      removePreviousIncarnation(
        coordinator(() => Promise.reject(new Error('down'))),
        'g',
        'm',
        silentLogger,
      ),
    ).resolves.toBe(false);
    await expect(
      removePreviousIncarnation(
        coordinator(() => Promise.resolve({})),
        'g',
        'm',
        silentLogger,
      ),
    ).resolves.toBe(true);
  });
});

/**
 * Removing the group member a crashed earlier incarnation of this instance left behind, before joining.
 *
 * kafkajs has no static membership (group.instance.id): every start joins with a fresh member id. After a kill -9
 * the dead member stays in the group until its session times out (30 s by default), and the coordinator makes
 * the next rebalance wait for it to rejoin, so the restarted instance (and every other member) sits without tasks
 * that long. LeaveGroup takes a member id, so the next incarnation reads the id it saved (MemberIdStore) and sends
 * LeaveGroup for it: the coordinator drops the ghost at once and the join that follows completes without waiting.
 */
import type { Cluster, PartitionAssigner } from 'kafkajs';
import type { Logger } from '../../common/logger.js';
import type { MemberIdStore } from './group-member.js';

/** The coordinator broker's LeaveGroup, which kafkajs has (v0–v3) but does not declare in its types. */
interface LeaveGroupCapable {
  leaveGroup(request: { groupId: string; memberId: string }): Promise<unknown>;
}

/** How long the removal may take before the join goes ahead anyway (then the ghost times out as before). */
const REMOVAL_TIMEOUT_MS = 5000;

/** The broker's answer when the member is already gone (it left, or its session expired): nothing to do. */
const ALREADY_GONE: ReadonlySet<string> = new Set(['UNKNOWN_MEMBER_ID', 'GROUP_ID_NOT_FOUND']);

/**
 * Remembers the member ids of one consumer: the kafkajs cluster comes from the assigner factory (kafkajs hands it
 * every `partitionAssigners` entry when it builds the consumer), `leave()` runs after `connect()` and before
 * `subscribe()`/`run()`, and `joined()` on every GROUP_JOIN saves the id this incarnation holds.
 */
export class PreviousIncarnation {
  private cluster: Pick<Cluster, 'findGroupCoordinator' | 'refreshMetadataIfNecessary'> | undefined;
  private savedMemberId: string | undefined;
  private saves: Promise<void> = Promise.resolve();

  constructor(
    private readonly groupId: string,
    private readonly store: MemberIdStore | undefined,
    private readonly logger: Logger,
  ) {}

  /** Wraps the consumer's assigner factory to capture kafkajs's cluster. */
  assigner(factory: PartitionAssigner): PartitionAssigner {
    return (context) => {
      this.cluster = context.cluster;
      return factory(context);
    };
  }

  /** LeaveGroup for the member id the previous incarnation saved, if any. Never throws. */
  async leave(): Promise<void> {
    if (this.store === undefined || this.cluster === undefined) return;
    let previous: string | undefined;
    try {
      previous = await this.store.load();
    } catch (error) {
      this.logger.warn('could not read the previous member id; joining without removing it', { error: String(error) });
      return;
    }
    if (previous === undefined || previous === '') return;
    await removePreviousIncarnation(this.cluster, this.groupId, previous, this.logger);
  }

  /** After a join: saves `memberId` when it changed (one write at a time, in order; failures are logged). */
  joined(memberId: string): void {
    const store = this.store;
    if (store === undefined || memberId === this.savedMemberId) return;
    this.savedMemberId = memberId;
    this.saves = this.saves
      .then(() => store.save(memberId))
      .catch((error: unknown) =>
        this.logger.warn('could not save the member id', { groupId: this.groupId, memberId, error: String(error) }),
      );
  }

  /** Resolves once the saves in flight are done (call after disconnecting). */
  settled(): Promise<void> {
    return this.saves;
  }
}

/**
 * Sends LeaveGroup for `memberId` to the group's coordinator. Never throws: a failure only means the group waits
 * for the ghost's session to expire, as it would without this. Returns whether the coordinator removed a member.
 */
export async function removePreviousIncarnation(
  cluster: Pick<Cluster, 'findGroupCoordinator' | 'refreshMetadataIfNecessary'>,
  groupId: string,
  memberId: string,
  logger: Logger,
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), REMOVAL_TIMEOUT_MS);
  });
  try {
    const removal = (async () => {
      // A consumer just connected has no cluster metadata yet: kafkajs's findGroupCoordinator then finds the
      // coordinator's node id, fails to find that broker, refreshes and retries after its retry backoff (~300 ms,
      // the larger part of a warm restart). Metadata first, and the first attempt finds the broker.
      await cluster.refreshMetadataIfNecessary();
      const coordinator: unknown = await cluster.findGroupCoordinator({ groupId });
      if (!isLeaveGroupCapable(coordinator)) throw new Error('the coordinator broker object has no leaveGroup()');
      await coordinator.leaveGroup({ groupId, memberId });
      return 'removed' as const;
    })();
    removal.catch(() => undefined); // settles after a timeout: keep Node from reporting it unhandled
    const outcome = await Promise.race([removal, timeout]);
    if (outcome === 'timeout') {
      logger.warn('removing the previous incarnation from the group timed out; joining anyway', { groupId, memberId });
      return false;
    }
    logger.info('removed the member a previous incarnation of this instance left in the group', { groupId, memberId });
    return true;
  } catch (error) {
    if (ALREADY_GONE.has(errorType(error) ?? '')) return false;
    logger.warn('could not remove the previous incarnation from the group; it leaves when its session times out', {
      groupId,
      memberId,
      error: String(error),
    });
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function isLeaveGroupCapable(value: unknown): value is LeaveGroupCapable {
  return typeof value === 'object' && value !== null && typeof (value as Partial<LeaveGroupCapable>).leaveGroup === 'function';
}

/** kafkajs protocol errors carry the broker's error name in `type`, sometimes one cause down. */
function errorType(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return undefined;
}

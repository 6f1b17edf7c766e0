import { describeKeyValueStoreConformance } from './conformance.js';
import { MemoryKeyValueStore } from './memory-store.js';

// The in-memory store must behave exactly like the LevelDB store: same contract suite.
describeKeyValueStoreConformance('MemoryKeyValueStore', async () => {
  const store = new MemoryKeyValueStore<unknown>('conformance', 0);
  return { store, cleanup: () => store.close() };
});

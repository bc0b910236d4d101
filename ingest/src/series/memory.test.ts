import t from 'tap';
import { MemorySeriesStore } from './memory.js';
import { seriesSuite } from './series.suite.js';

seriesSuite(t, async () => {
  const store = new MemorySeriesStore();
  await store.open();
  return { store, cleanup: () => store.close() };
});

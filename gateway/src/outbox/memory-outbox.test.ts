import t from 'tap';
import { MemoryOutbox } from './memory-outbox.js';
import { outboxSuite } from './outbox.suite.js';

outboxSuite(t, (o) => new MemoryOutbox(o));

// Child process for the kill -9 test: appends forever, printing each seq once append() resolved.
import { FileOutbox } from '../file-outbox.js';

const ob = new FileOutbox({ dir: process.argv[2], maxBytes: 1 << 26, segmentBytes: 1 << 16 });
await ob.open();
for (let i = 0; i < 1_000_000; i++) {
  const batch = Array.from({ length: 4 }, () =>
    ob
      .append((seq) => new TextEncoder().encode(`payload-${seq}-`.padEnd(100, 'x')))
      .then((seq) => {
        process.stdout.write(`${seq}\n`);
      }),
  );
  await Promise.all(batch);
}

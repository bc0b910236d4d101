/** Pieces every `orlink sim <protocol>` CLI shares. */
import { createWriteStream, type WriteStream } from 'node:fs';

/** Resolves on SIGINT/SIGTERM (the signal's name) or when `signal` aborts ('abort'). */
export function waitForStop(signal?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const onSig = (s: NodeJS.Signals): void => { cleanup(); resolve(s); };
    const onAbort = (): void => { cleanup(); resolve('abort'); };
    const cleanup = (): void => {
      process.off('SIGINT', onSig); process.off('SIGTERM', onSig);
      signal?.removeEventListener('abort', onAbort);
    };
    process.once('SIGINT', onSig);
    process.once('SIGTERM', onSig);
    if (signal?.aborted) onAbort(); else signal?.addEventListener('abort', onAbort);
  });
}

/** Opens (appends to) the `--record-truth` file: one produced reading per line, as JSON. */
export async function openTruthFile(path: string): Promise<{ stream: WriteStream; write(r: unknown): void }> {
  const stream = createWriteStream(path, { flags: 'a' });
  await new Promise<void>((resolve, reject) => { stream.once('open', () => resolve()); stream.once('error', reject); });
  return { stream, write: (r) => { stream.write(`${JSON.stringify(r)}\n`); } };
}

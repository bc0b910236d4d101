/**
 * Mutual exclusion per key (intake integrity: per bed, from the content check to the commit, so two
 * batches that run at once never both find a slot empty and both write it). Keys are taken in sorted
 * order, all before the holder runs: no deadlock between holders of overlapping key sets.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** resolves when every key is held; call the returned function once to release them all */
  async acquire(keys: Iterable<string>): Promise<() => void> {
    const releases: (() => void)[] = [];
    for (const k of [...new Set(keys)].sort()) {
      const prev = this.tails.get(k) ?? Promise.resolve();
      let open!: () => void;
      const mine = new Promise<void>((r) => (open = r));
      const tail = prev.then(() => mine);
      this.tails.set(k, tail);
      await prev;
      releases.push(() => {
        open();
        if (this.tails.get(k) === tail) this.tails.delete(k);
      });
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const r of releases) r();
    };
  }

  /** keys held or waited for (tests) */
  get size(): number {
    return this.tails.size;
  }
}

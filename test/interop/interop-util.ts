/** Small helpers shared by the interop tests: polling with a deadline, InfluxQL rows. */

/** Poll `cond` until true or the deadline passes (no sleeps to wait for events). */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** rows of the first series of an InfluxQL query (epoch ms); [] when empty */
export async function influxQuery(url: string, db: string, q: string): Promise<unknown[][]> {
  const res = await fetch(`${url}/query?db=${encodeURIComponent(db)}&epoch=ms&q=${encodeURIComponent(q)}`);
  const json = (await res.json()) as { results: { series?: { values: unknown[][] }[]; error?: string }[] };
  if (json.results[0]?.error) throw new Error(json.results[0].error);
  return (json.results[0]?.series ?? []).flatMap((s) => s.values);
}

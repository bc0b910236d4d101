/**
 * A loopback port for a server that is stopped and started again on the same port during a test
 * (a killed ingest, a restarted broker). `freePort()` answers from the kernel's ephemeral range
 * (/proc/sys/net/ipv4/ip_local_port_range, 32768–60999 here), where every outgoing connection of
 * every parallel test also takes its local port: while the server is down, one of them can take
 * the port and the restart fails with EADDRINUSE. The kernel never hands out a port below that
 * range on its own, so a port chosen there (at random, checked free) can only be taken by another
 * explicit bind.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';

const FLOOR = 20_000;

function ephemeralStart(): number {
  try {
    const [lo] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && lo > FLOOR + 1000) return lo;
  } catch {
    /* not Linux: use the IANA dynamic range's start */
  }
  return 49_152;
}

function tryListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A free port below the ephemeral range, for a server the test restarts on the same port. */
export async function stablePort(host = '127.0.0.1'): Promise<number> {
  const top = ephemeralStart();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = FLOOR + Math.floor(Math.random() * (top - FLOOR));
    if (await tryListen(port, host)) return port;
  }
  throw new Error(`no free port between ${FLOOR} and ${top} on ${host} after 200 tries`);
}

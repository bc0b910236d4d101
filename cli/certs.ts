/**
 * A small test PKI made with the `openssl` binary (execFile, no shell): a CA, a server certificate
 * (serverAuth, SANs) and client certificates (clientAuth, CN = gateway id), with an `openssl ca`
 * database in the directory so that revocation and a CRL work. For tests and the demo; production
 * uses its own PKI (docs/tls.md). Also `orlink certs --out DIR [--host NAME]... [--client CN]...
 * [--revoke CN]`.
 *
 * Layout of DIR (mode 0700, private keys 0600): ca.pem ca-key.pem server.pem server-key.pem
 * clients/<cn>.pem clients/<cn>-key.pem crl.pem, and the CA database openssl.cnf index.txt serial
 * crlnumber newcerts/.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { CERTS_ERR, CertsError } from './certs-errors.js';

export interface TestPkiOptions {
  dir: string;
  /** server SANs, default ['localhost', '127.0.0.1', '::1'] */
  hosts?: string[];
  /** client certificate CNs, e.g. gateway ids */
  clients?: string[];
  /** validity of every certificate, default 825 */
  days?: number;
  caName?: string;
}
export interface CertPair {
  certFile: string;
  keyFile: string;
}
export interface TestPki {
  dir: string;
  caFile: string;
  caKeyFile: string;
  server: CertPair;
  clients: Record<string, CertPair>;
  /** PEM CRL signed by the CA, initially empty */
  crlFile: string;
}

export const DEFAULT_HOSTS = ['localhost', '127.0.0.1', '::1'];
const DEFAULT_DAYS = 825;
const OPENSSL_TIMEOUT_MS = 30_000;
/** client CNs: the gateway id pattern (schemas/src/gateway-config.ts), so a CN is also a safe file name */
const CN_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HOST_RE = /^[A-Za-z0-9*]([A-Za-z0-9.-]{0,252})$/;

function openssl(dir: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd: dir, timeout: OPENSSL_TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const what =
          (err as NodeJS.ErrnoException).code === 'ENOENT'
            ? 'the openssl binary was not found (Debian: apt-get install openssl)'
            : `openssl ${args[0]} failed: ${String(stderr).trim().split('\n').slice(-3).join(' | ')}`;
        reject(new CertsError(CERTS_ERR.OPENSSL, what, { cause: err }));
      } else resolve(String(stdout));
    });
  });
}

function fsStep<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new CertsError(CERTS_ERR.FS, `${what}: ${(err as Error).message}`, { cause: err });
  }
}

function writeFile(file: string, content: string, mode = 0o600): void {
  fsStep(`cannot write ${file}`, () => {
    writeFileSync(file, content, { mode });
    chmodSync(file, mode);
  });
}

/** openssl ca runs with cwd = DIR and relative paths, so DIR may contain any character. */
const CA_CONFIG = (days: number) => `# written by orlink certs (cli/certs.ts): the openssl ca database of this test CA
[ ca ]
default_ca = orlink_ca

[ orlink_ca ]
database = ./index.txt
serial = ./serial
crlnumber = ./crlnumber
new_certs_dir = ./newcerts
certificate = ./ca.pem
private_key = ./ca-key.pem
default_md = sha256
default_days = ${days}
default_crl_days = ${days}
policy = policy_cn
unique_subject = no
copy_extensions = none
email_in_dn = no

[ policy_cn ]
commonName = supplied

[ req ]
distinguished_name = req_dn
prompt = no

[ req_dn ]
CN = unused

[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
`;

const serverExt = (hosts: string[]) => {
  const sans = hosts.map((h, i) => `${isIP(h) ? 'IP' : 'DNS'}.${i + 1} = ${h}`).join('\n');
  return `[ leaf ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = @sans

[ sans ]
${sans}
`;
};

const CLIENT_EXT = `[ leaf ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/** operations on one CA database run one at a time (openssl ca is not safe to run concurrently) */
const queues = new Map<string, Promise<unknown>>();
function serialized<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(dir) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => undefined);
  queues.set(dir, tail);
  void tail.then(() => {
    if (queues.get(dir) === tail) queues.delete(dir);
  });
  return next;
}

const files = (dir: string) => ({
  caFile: path.join(dir, 'ca.pem'),
  caKeyFile: path.join(dir, 'ca-key.pem'),
  server: { certFile: path.join(dir, 'server.pem'), keyFile: path.join(dir, 'server-key.pem') },
  crlFile: path.join(dir, 'crl.pem'),
});
const clientPair = (dir: string, cn: string): CertPair => ({
  certFile: path.join(dir, 'clients', `${cn}.pem`),
  keyFile: path.join(dir, 'clients', `${cn}-key.pem`),
});

async function newKey(dir: string, rel: string): Promise<void> {
  await openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', rel]);
  fsStep(`cannot chmod ${rel}`, () => chmodSync(path.join(dir, rel), 0o600));
}

/** key + CSR + `openssl ca` signing with the extensions in `ext`; relative paths under dir */
async function issue(dir: string, cn: string, certRel: string, keyRel: string, ext: string, days: number): Promise<void> {
  await newKey(dir, keyRel);
  const tag = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const csr = `tmp-${tag}.csr`;
  const extFile = `tmp-${tag}.ext`;
  writeFile(path.join(dir, extFile), ext);
  try {
    await openssl(dir, ['req', '-new', '-config', 'openssl.cnf', '-key', keyRel, '-subj', `/CN=${cn}`, '-out', csr]);
    await openssl(dir, [
      'ca',
      '-batch',
      '-notext',
      '-config',
      'openssl.cnf',
      '-extfile',
      extFile,
      '-extensions',
      'leaf',
      '-days',
      String(days),
      '-in',
      csr,
      '-out',
      certRel,
    ]);
    fsStep(`cannot chmod ${certRel}`, () => chmodSync(path.join(dir, certRel), 0o644));
  } finally {
    rmSync(path.join(dir, csr), { force: true });
    rmSync(path.join(dir, extFile), { force: true });
  }
}

async function gencrl(dir: string): Promise<void> {
  await openssl(dir, ['ca', '-gencrl', '-config', 'openssl.cnf', '-out', 'crl.pem']);
  fsStep('cannot chmod crl.pem', () => chmodSync(path.join(dir, 'crl.pem'), 0o644));
}

function checkCn(cn: string): void {
  if (!CN_RE.test(cn)) throw new CertsError(CERTS_ERR.BAD_NAME, `client CN '${cn}' is not a gateway id (letters, digits, '.', '_', '-'; at most 64)`);
}
function checkHost(h: string): void {
  if (!isIP(h) && !HOST_RE.test(h)) throw new CertsError(CERTS_ERR.BAD_NAME, `host '${h}' is neither an IP address nor a DNS name`);
}

/** Is there a CA (made by createTestPki) in dir? */
export const hasTestPki = (dir: string): boolean => existsSync(path.join(dir, 'ca.pem')) && existsSync(path.join(dir, 'openssl.cnf'));

/** Makes a new CA in `o.dir` (created if missing; refused if it already holds a CA), a server certificate, the clients, an empty CRL. */
export async function createTestPki(o: TestPkiOptions): Promise<TestPki> {
  const dir = path.resolve(o.dir);
  const hosts = o.hosts && o.hosts.length > 0 ? o.hosts : DEFAULT_HOSTS;
  const clients = o.clients ?? [];
  const days = o.days ?? DEFAULT_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > 36500) throw new CertsError(CERTS_ERR.USAGE, `days must be an integer 1..36500, not ${days}`);
  hosts.forEach(checkHost);
  clients.forEach(checkCn);
  const caName = o.caName ?? 'orlink test CA';
  if (!/^[A-Za-z0-9 ._-]{1,64}$/.test(caName))
    throw new CertsError(CERTS_ERR.BAD_NAME, `CA name '${caName}': letters, digits, space, '.', '_', '-'; at most 64`);
  return serialized(dir, async () => {
    if (hasTestPki(dir) || existsSync(path.join(dir, 'ca-key.pem')))
      throw new CertsError(CERTS_ERR.EXISTS, `${dir} already holds a CA: remove it, or add clients to it (issueClientCert, orlink certs --client)`);
    fsStep(`cannot create ${dir}`, () => {
      mkdirSync(path.join(dir, 'newcerts'), { recursive: true, mode: 0o700 });
      mkdirSync(path.join(dir, 'clients'), { recursive: true, mode: 0o700 });
      for (const d of [dir, path.join(dir, 'newcerts'), path.join(dir, 'clients')]) chmodSync(d, 0o700);
    });
    writeFile(path.join(dir, 'openssl.cnf'), CA_CONFIG(days), 0o644);
    writeFile(path.join(dir, 'index.txt'), '');
    writeFile(path.join(dir, 'index.txt.attr'), 'unique_subject = no\n');
    // a random 64-bit start serial, so two test CAs do not share serials
    writeFile(
      path.join(dir, 'serial'),
      `${(BigInt(Date.now()) * 1000n + BigInt(Math.floor(Math.random() * 1000))).toString(16).toUpperCase().padStart(16, '0')}\n`,
    );
    writeFile(path.join(dir, 'crlnumber'), '1000\n');
    await newKey(dir, 'ca-key.pem');
    await openssl(dir, [
      'req',
      '-x509',
      '-new',
      '-config',
      'openssl.cnf',
      '-extensions',
      'v3_ca',
      '-key',
      'ca-key.pem',
      '-subj',
      `/CN=${caName}`,
      '-days',
      String(days),
      '-sha256',
      '-out',
      'ca.pem',
    ]);
    fsStep('cannot chmod ca.pem', () => chmodSync(path.join(dir, 'ca.pem'), 0o644));
    await issue(dir, hosts[0], 'server.pem', 'server-key.pem', serverExt(hosts), days);
    const pki: TestPki = { dir, ...files(dir), clients: {} };
    for (const cn of clients) {
      await issue(dir, cn, path.join('clients', `${cn}.pem`), path.join('clients', `${cn}-key.pem`), CLIENT_EXT, days);
      pki.clients[cn] = clientPair(dir, cn);
    }
    await gencrl(dir);
    return pki;
  });
}

/** Reopens a CA made by createTestPki: the clients are those with a certificate file in clients/. */
export function openTestPki(dirIn: string): TestPki {
  const dir = path.resolve(dirIn);
  if (!hasTestPki(dir)) throw new CertsError(CERTS_ERR.NO_CA, `${dir} holds no CA made by orlink certs (ca.pem, openssl.cnf)`);
  const pki: TestPki = { dir, ...files(dir), clients: {} };
  const names = fsStep(`cannot read ${dir}/clients`, () => (existsSync(path.join(dir, 'clients')) ? readdirSync(path.join(dir, 'clients')) : []));
  for (const f of names) {
    const m = /^(.+)\.pem$/.exec(f);
    if (m && !m[1].endsWith('-key') && CN_RE.test(m[1])) pki.clients[m[1]] = clientPair(dir, m[1]);
  }
  return pki;
}

/** Issues (or re-issues, replacing the files) a client certificate with CN = cn and clientAuth; adds it to pki.clients. */
export async function issueClientCert(pki: TestPki, cn: string): Promise<CertPair> {
  checkCn(cn);
  return serialized(pki.dir, async () => {
    const days = readDays(pki.dir);
    await issue(pki.dir, cn, path.join('clients', `${cn}.pem`), path.join('clients', `${cn}-key.pem`), CLIENT_EXT, days);
    pki.clients[cn] = clientPair(pki.dir, cn);
    return pki.clients[cn];
  });
}

/** Re-issues the server certificate for other hosts (same CA). */
export async function issueServerCert(pki: TestPki, hosts: string[]): Promise<CertPair> {
  if (hosts.length === 0) throw new CertsError(CERTS_ERR.USAGE, 'at least one host');
  hosts.forEach(checkHost);
  return serialized(pki.dir, async () => {
    await issue(pki.dir, hosts[0], 'server.pem', 'server-key.pem', serverExt(hosts), readDays(pki.dir));
    return pki.server;
  });
}

/** Revokes the current certificate of client `cn` and rewrites the CRL; returns the CRL file. */
export async function revokeClientCert(pki: TestPki, cn: string): Promise<string> {
  checkCn(cn);
  return serialized(pki.dir, async () => {
    const rel = path.join('clients', `${cn}.pem`);
    if (!existsSync(path.join(pki.dir, rel))) throw new CertsError(CERTS_ERR.UNKNOWN_CLIENT, `no client certificate '${cn}' in ${pki.dir}`);
    await openssl(pki.dir, ['ca', '-config', 'openssl.cnf', '-revoke', rel, '-crl_reason', 'keyCompromise']);
    await gencrl(pki.dir);
    return pki.crlFile;
  });
}

function readDays(dir: string): number {
  // the validity written into openssl.cnf by createTestPki (default_days)
  const cnf = fsStep('cannot read openssl.cnf', () => readFileSync(path.join(dir, 'openssl.cnf'), 'utf8'));
  const m = /^default_days = (\d+)$/m.exec(cnf);
  return m ? Number(m[1]) : DEFAULT_DAYS;
}

const USAGE = `usage: orlink certs --out DIR [--host NAME]... [--client CN]... [--revoke CN]... [--days N] [--ca-name NAME]
  a test CA for the demo and tests (docs/tls.md): DIR/ca.pem, server.pem + server-key.pem
  (SANs: the --host names, default localhost 127.0.0.1 ::1), clients/<CN>.pem + <CN>-key.pem, crl.pem
  an existing CA in DIR is reused only to add clients, revoke, or re-issue the server certificate (--host)
`;

export interface Io {
  out(s: string): void;
  err(s: string): void;
}
const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export async function run(argv: string[], io: Io = stdio): Promise<number> {
  let out: string | undefined;
  let days: number | undefined;
  let caName: string | undefined;
  const hosts: string[] = [];
  const clients: string[] = [];
  const revoke: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      io.out(USAGE);
      return 0;
    }
    const m = /^--(out|host|client|revoke|days|ca-name)(?:=(.*))?$/.exec(a);
    if (!m) {
      io.err(`orlink certs: unknown argument ${a}\n${USAGE}`);
      return 2;
    }
    const v = m[2] ?? argv[++i];
    if (v === undefined || v === '') {
      io.err(`orlink certs: ${a} needs a value\n`);
      return 2;
    }
    if (m[1] === 'out') out = v;
    else if (m[1] === 'host') hosts.push(v);
    else if (m[1] === 'client') clients.push(v);
    else if (m[1] === 'revoke') revoke.push(v);
    else if (m[1] === 'ca-name') caName = v;
    else {
      days = Number(v);
      if (!Number.isInteger(days) || days < 1) {
        io.err(`orlink certs: --days: not a positive integer: ${v}\n`);
        return 2;
      }
    }
  }
  if (!out) {
    io.err(USAGE);
    return 2;
  }
  try {
    let pki: TestPki;
    if (hasTestPki(out)) {
      if (clients.length === 0 && revoke.length === 0 && hosts.length === 0) {
        throw new CertsError(
          CERTS_ERR.EXISTS,
          `${path.resolve(out)} already holds a CA; not overwritten (remove the directory for a new CA, or use --client/--revoke/--host to reuse it)`,
        );
      }
      if (days !== undefined || caName !== undefined) throw new CertsError(CERTS_ERR.USAGE, '--days and --ca-name only apply to a new CA');
      pki = openTestPki(out);
      if (hosts.length > 0) await issueServerCert(pki, hosts);
      for (const cn of clients) await issueClientCert(pki, cn);
    } else {
      if (revoke.length > 0) throw new CertsError(CERTS_ERR.NO_CA, `${path.resolve(out)} holds no CA to revoke from`);
      pki = await createTestPki({ dir: out, hosts, clients, days, caName });
    }
    for (const cn of revoke) await revokeClientCert(pki, cn);
    io.out(
      `ca        ${pki.caFile}\nca key    ${pki.caKeyFile}\nserver    ${pki.server.certFile}\nserverkey ${pki.server.keyFile}\ncrl       ${pki.crlFile}\n`,
    );
    for (const [cn, p] of Object.entries(pki.clients)) io.out(`client ${cn}  ${p.certFile}  ${p.keyFile}${revoke.includes(cn) ? '  (revoked)' : ''}\n`);
    return 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    io.err(`orlink certs: ${code ? `${code}: ` : ''}${(err as Error).message}\n`);
    return code === CERTS_ERR.USAGE || code === CERTS_ERR.BAD_NAME ? 2 : 1;
  }
}

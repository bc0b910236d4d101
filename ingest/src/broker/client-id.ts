/**
 * Client ids bound to logins (docs/security.md "Broker limits"). MQTT lets a new connection with an
 * existing client id take over (close) the old one, and a gateway's id is easy to guess. So the
 * embedded broker decides who OWNS a client id and refuses a login presenting someone else's:
 *
 *  - the ingest service account owns its configured client ids (`mqtt.clientId`) and every id equal
 *    to its user name or starting with `<username>-`;
 *  - a gateway owns its id and every id starting with `<gatewayId>-` (its publisher uses
 *    `<gatewayId>-<first 8 hex digits of the boot id>`). Gateway ids may contain `-`, so the LONGEST
 *    registered id that is a prefix ending at a `-` wins: `icu-1-abc` belongs to `icu-1`, not `icu`;
 *  - the record-system account (when enabled) owns every id equal to its user name or starting
 *    with `<username>-`; it may use no other id;
 *  - other ids belong to nobody: the service account may use them (tools, tests), a gateway may not.
 *
 * A gateway therefore cannot present any other account's id, and the only sessions it can close by
 * reusing an id are its own (the normal reconnect).
 */
export type ClientIdOwner = { kind: 'service' } | { kind: 'record' } | { kind: 'gateway'; id: string } | null;
export type ClientIdAccount = Exclude<ClientIdOwner, null>;

export interface ClientIdRules {
  serviceUsername: string;
  /** the record-system account's user name (absent: no such account) */
  recordUsername?: string;
  /** ids reserved for the service account whatever their form */
  reserved: ReadonlySet<string>;
  /** is this a registered gateway id (retired ones included)? */
  isGateway: (id: string) => boolean;
}

const MAX_OWNED_ID = 256;

export function clientIdOwner(clientId: string, r: ClientIdRules): ClientIdOwner {
  if (r.reserved.has(clientId)) return { kind: 'service' };
  // registry ids are short; a long id (many dashes = many lookups) belongs to nobody, so no gateway may use it
  if (clientId.length > MAX_OWNED_ID) return null;
  // candidates, longest first: the whole id, then every prefix that ends right before a '-'
  for (let end = clientId.length; end > 0; end = clientId.lastIndexOf('-', end - 1)) {
    const candidate = clientId.slice(0, end);
    if (candidate === r.serviceUsername) return { kind: 'service' };
    if (r.recordUsername !== undefined && candidate === r.recordUsername) return { kind: 'record' };
    if (r.isGateway(candidate)) return { kind: 'gateway', id: candidate };
  }
  return null;
}

/** may this account log in with this client id? */
export function mayUseClientId(account: ClientIdAccount, clientId: string, r: ClientIdRules): boolean {
  const owner = clientIdOwner(clientId, r);
  if (account.kind === 'service') return owner === null || owner.kind === 'service';
  if (account.kind === 'record') return owner?.kind === 'record';
  return owner?.kind === 'gateway' && owner.id === account.id;
}

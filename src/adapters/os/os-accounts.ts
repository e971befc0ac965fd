import { readFile } from 'node:fs/promises';
import os from 'node:os';

/** Where the host's account database and socket tables are read (tests point these elsewhere). */
export interface OsFiles {
  readonly passwd: string;
  readonly group: string;
  /** `/proc/net/tcp` and `/proc/net/tcp6` on Linux. */
  readonly socketTables: readonly string[];
}

export const hostFiles: OsFiles = { passwd: '/etc/passwd', group: '/etc/group', socketTables: ['/proc/net/tcp', '/proc/net/tcp6'] };

interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** The user name of `uid` in the passwd file, if it is listed there. */
export async function osUserNameOf(uid: number, files: OsFiles = hostFiles): Promise<string | undefined> {
  return (await readPasswd(files)).find((entry) => entry.uid === uid)?.name;
}

/**
 * The OS groups `user` belongs to: the primary group from the passwd file (or `primaryGid` when
 * given) and every group that lists the user as a member. NB: read from the files, not through NSS
 * (no child process, no native module): users and groups that live only in LDAP or sssd are not
 * seen, and a policy naming such a group matches nobody.
 */
export async function osGroupsOf(user: string, files: OsFiles = hostFiles, primaryGid?: number): Promise<string[]> {
  const gid = primaryGid ?? (await readPasswd(files)).find((entry) => entry.name === user)?.gid;
  const groups = new Set<string>();
  for (const line of await readLines(files.group)) {
    const [name, , gidText, members = ''] = line.split(':');
    if (!name) continue;
    if (Number(gidText) === gid || members.split(',').includes(user)) groups.add(name);
  }
  return [...groups];
}

export interface SocketEnd {
  readonly address: string;
  readonly port: number;
}

/**
 * Peer credentials for TCP on loopback (Linux): the uid that owns the client's end of a connection,
 * read from the kernel's socket tables: the row whose local end is `client` and remote end is
 * `server`. Undefined where the tables cannot be read or hold no such row (another platform, a
 * closed connection, an address that is not IPv4).
 */
export async function loopbackPeerUid(client: SocketEnd, server: SocketEnd, files: OsFiles = hostFiles): Promise<number | undefined> {
  const local = ipv4Bytes(client.address);
  const remote = ipv4Bytes(server.address);
  if (!local || !remote) return undefined;
  for (const table of files.socketTables) {
    for (const line of (await readLines(table)).slice(1)) {
      // NB: `sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …`
      const fields = line.trim().split(/\s+/);
      const [, localField, remoteField, , , , , uidField] = fields;
      if (!localField || !remoteField || uidField === undefined) continue;
      if (endMatches(localField, local, client.port) && endMatches(remoteField, remote, server.port)) {
        const uid = Number(uidField);
        return Number.isInteger(uid) ? uid : undefined;
      }
    }
  }
  return undefined;
}

/** `127.0.0.1` or `::ffff:127.0.0.1` → its four bytes. */
function ipv4Bytes(address: string): number[] | undefined {
  const dotted = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  const parts = dotted.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number);
}

/**
 * Whether a table's `HEX:PORT` is this IPv4 address and port. The kernel prints each 32-bit word of
 * the address in the machine's byte order: 127.0.0.1 is `0100007F` on little-endian machines. In
 * the IPv6 table an IPv4 peer appears mapped: `0000000000000000FFFF0000` then the IPv4 word.
 */
function endMatches(field: string, bytes: readonly number[], port: number): boolean {
  const [hex = '', portHex = ''] = field.split(':');
  if (parseInt(portHex, 16) !== port) return false;
  const word = (b: readonly number[]) => (os.endianness() === 'LE' ? [...b].reverse() : [...b]).map((x) => x.toString(16).padStart(2, '0')).join('').toUpperCase();
  if (hex.length === 8) return hex.toUpperCase() === word(bytes);
  if (hex.length === 32) return hex.toUpperCase() === `${'0'.repeat(16)}${word([0, 0, 0xff, 0xff])}${word(bytes)}`;
  return false;
}

async function readPasswd(files: OsFiles): Promise<PasswdEntry[]> {
  return (await readLines(files.passwd)).flatMap((line) => {
    const [name, , uid, gid] = line.split(':');
    return name && uid !== undefined && gid !== undefined ? [{ name, uid: Number(uid), gid: Number(gid) }] : [];
  });
}

async function readLines(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  } catch {
    return [];
  }
}

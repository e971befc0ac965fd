import os from 'node:os';
import type { CliOperator } from '../../app/origin';
import { hostFiles, loopbackPeerUid, osGroupsOf, osUserNameOf, type OsFiles, type SocketEnd } from './os-accounts';

/** The CLI running on its own: the OS user of this process (the only identity it can vouch for). */
export async function processOperator(files: OsFiles = hostFiles): Promise<CliOperator> {
  const me = ownUser();
  return { osUser: me.name, osUserFrom: 'process', osGroups: await osGroupsOf(me.name, files, me.gid) };
}

/**
 * The CLI reaching the service over loopback: the OS user who owns the client's socket, never what
 * the client says. Where that cannot be read (not Linux, /proc hidden), the service's own OS user:
 * the client presented the token from the admin file, which only that user can read.
 */
export async function loopbackOperator(client: SocketEnd, server: SocketEnd, files: OsFiles = hostFiles): Promise<CliOperator> {
  const uid = await loopbackPeerUid(client, server, files);
  if (uid !== undefined) {
    const me = ownUser();
    // NB: a uid missing from the passwd file (LDAP, a container) is still named, by number.
    const name = uid === me.uid ? me.name : ((await osUserNameOf(uid, files)) ?? `uid:${uid}`);
    return { osUser: name, osUserFrom: 'peer_socket', osGroups: await osGroupsOf(name, files, uid === me.uid ? me.gid : undefined) };
  }
  const owner = await processOperator(files);
  return { ...owner, osUserFrom: 'service_owner' };
}

function ownUser(): { name: string; uid: number; gid: number } {
  try {
    const info = os.userInfo();
    return { name: info.username, uid: info.uid, gid: info.gid };
  } catch {
    // NB: a uid with no passwd entry (some containers): named by number, never by $USER, which the caller sets.
    const uid = process.getuid?.() ?? -1;
    return { name: `uid:${uid}`, uid, gid: process.getgid?.() ?? -1 };
  }
}

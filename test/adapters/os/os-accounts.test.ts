import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loopbackOperator } from '../../../src/adapters/os/cli-operator';
import { loopbackPeerUid, osGroupsOf, osUserNameOf, type OsFiles } from '../../../src/adapters/os/os-accounts';

const LE = os.endianness() === 'LE';
/** 127.0.0.1 as the kernel prints it on this machine. */
const LOOPBACK = LE ? '0100007F' : '7F000001';
const MAPPED_PREFIX = `0000000000000000${LE ? 'FFFF0000' : '0000FFFF'}`;
const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const row = (local: string, remote: string, uid: number) => `   0: ${local} ${remote} 01 00000000:00000000 00:00000000 00000000  ${uid}        0 1234 1 0000000000000000 20 4 30 10 -1`;
const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');

describe('OS accounts from the host files', () => {
  let dir: string;
  let files: OsFiles;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-os-'));
    files = { passwd: path.join(dir, 'passwd'), group: path.join(dir, 'group'), socketTables: [path.join(dir, 'tcp'), path.join(dir, 'tcp6')] };
    writeFileSync(files.passwd, 'root:x:0:0:root:/root:/bin/bash\ntom:x:1001:1001::/home/tom:/bin/bash\nsam:x:1002:100::/home/sam:/bin/bash\n');
    writeFileSync(files.group, 'root:x:0:\nusers:x:100:\ntom:x:1001:\noncall:x:2000:sam,una\nops:x:2001:tom\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names a uid and lists a user\'s primary and supplementary groups', async () => {
    // Given / When / Then
    expect(await osUserNameOf(1002, files)).toBe('sam');
    expect(await osUserNameOf(4242, files)).toBeUndefined();
    expect(await osGroupsOf('sam', files)).toEqual(['users', 'oncall']);
    expect(await osGroupsOf('tom', files)).toEqual(['tom', 'ops']);
  });

  it('finds the owner of the client end of a loopback connection, in the IPv4 and the IPv6 table', async () => {
    // Given the client 127.0.0.1:40000 connected to the server's 127.0.0.1:5000; the server's own end is listed too
    writeFileSync(files.socketTables[0] ?? '', [HEADER, row(`${LOOPBACK}:${hex(5000)}`, `${LOOPBACK}:${hex(40000)}`, 0), row(`${LOOPBACK}:${hex(40000)}`, `${LOOPBACK}:${hex(5000)}`, 1001)].join('\n'));
    writeFileSync(files.socketTables[1] ?? '', [HEADER, row(`${MAPPED_PREFIX}${LOOPBACK}:${hex(40001)}`, `${MAPPED_PREFIX}${LOOPBACK}:${hex(5000)}`, 1002)].join('\n'));
    const server = { address: '127.0.0.1', port: 5000 };
    // When / Then: the client's row, not the server's
    expect(await loopbackPeerUid({ address: '127.0.0.1', port: 40000 }, server, files)).toBe(1001);
    expect(await loopbackPeerUid({ address: '::ffff:127.0.0.1', port: 40001 }, server, files)).toBe(1002);
    expect(await loopbackPeerUid({ address: '127.0.0.1', port: 40002 }, server, files)).toBeUndefined();
    expect((await loopbackOperator({ address: '127.0.0.1', port: 40001 }, server, files))).toEqual({ osUser: 'sam', osUserFrom: 'peer_socket', osGroups: ['users', 'oncall'] });
  });

  it('falls back to the service\'s own OS user, and says so, when the socket tables cannot be read', async () => {
    // Given no socket tables (another platform)
    // When
    const operator = await loopbackOperator({ address: '127.0.0.1', port: 40000 }, { address: '127.0.0.1', port: 5000 }, files);
    // Then
    expect(operator).toMatchObject({ osUser: os.userInfo().username, osUserFrom: 'service_owner' });
  });
});

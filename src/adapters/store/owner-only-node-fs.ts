import fs from 'node:fs';
import type { PGliteOptions } from '@electric-sql/pglite';

/** PGlite's file-system interface (not exported by name from its main entry). */
type Filesystem = NonNullable<PGliteOptions['fs']>;
type EmscriptenOptions = Awaited<ReturnType<Filesystem['init']>>['emscriptenOpts'];
type PostgresModule = Parameters<NonNullable<EmscriptenOptions['preRun']>[number]>[0];

// NB: `require`, not `import`: this subpath is only reachable through the package's `exports`,
// which TypeScript's `node` module resolution (this project's) does not read.
const { NodeFS } = require('@electric-sql/pglite/nodefs') as { NodeFS: new (dataDir: string) => Filesystem };

/** The parts of Emscripten's NODEFS (the Node file system under PGlite) that create files and set modes. */
interface NodefsInternals {
  realPath(node: unknown): string;
  doSetAttr(arg: unknown, node: unknown, attr: unknown, chmod: (target: unknown, mode: number) => void, ...rest: unknown[]): void;
  node_ops: { mknod(parent: unknown, name: string, mode: number, dev: number): unknown };
}

const ownerOnly = (mode: number): number => mode & 0o700;

/**
 * PGlite's Node file system under `directory`, except that nothing it creates or chmods there is
 * open to group or others: directories end up 0700 and files 0600.
 *
 * NB: a restrictive umask is not enough. Emscripten creates a file, then chmods it to the mode the
 * program asked for, which the umask does not touch: PGlite 0.5's initdb lays its files down 0666,
 * and later ones (relation cache, statistics) 0644. So the two places where NODEFS sets a mode on
 * disk are wrapped; the process umask (0077, set by the entry points) still closes the moment
 * between creating a file and chmodding it. Fails closed: if PGlite's internals change shape, the
 * database does not open.
 */
export function ownerOnlyNodeFs(directory: string): Filesystem {
  const nodeFs = new NodeFS(directory);
  const init = nodeFs.init.bind(nodeFs);
  nodeFs.init = async (pg, options) => {
    const { emscriptenOpts } = await init(pg, options);
    // NB: first, so that NODEFS is wrapped before the mount and before initdb writes anything.
    return { emscriptenOpts: { ...emscriptenOpts, preRun: [(mod: PostgresModule) => restrictNodefs(mod), ...(emscriptenOpts.preRun ?? [])] } };
  };
  return nodeFs;
}

function restrictNodefs(mod: PostgresModule): void {
  const nodefs = mod.NODEFS as unknown as Partial<NodefsInternals> | undefined;
  const mknod = nodefs?.node_ops?.mknod;
  const doSetAttr = nodefs?.doSetAttr;
  const realPath = nodefs?.realPath;
  if (!nodefs?.node_ops || typeof mknod !== 'function' || typeof doSetAttr !== 'function' || typeof realPath !== 'function') {
    throw new Error("PGlite's Node file system is not the one prod-access knows (NODEFS.node_ops.mknod, doSetAttr, realPath): cannot keep the embedded database private to its owner");
  }
  nodefs.node_ops.mknod = function (parent, name, mode, dev) {
    const node = mknod.call(this, parent, name, mode, dev);
    fs.chmodSync(realPath.call(nodefs, node), ownerOnly(mode));
    return node;
  };
  nodefs.doSetAttr = function (arg, node, attr, chmod, ...rest) {
    doSetAttr.call(this, arg, node, attr, (target, mode) => chmod(target, ownerOnly(mode)), ...rest);
  };
}

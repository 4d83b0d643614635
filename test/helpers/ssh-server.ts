/**
 * An SSH server inside the Node process, built on ssh2's Server, for machines without OpenSSH
 * (the demo needs no root and no apt). It behaves like sshd where the action can tell:
 * public-key auth for one generated key, `exec` runs `sh -c <command>` in its own session and
 * process group (as sshd's setsid does, so a process group kill works), a plain environment
 * (PATH, HOME, USER), and an SFTP subsystem with what node-ssh's putFile/putDirectory/mkdir use.
 * Relative paths start in a temp "home" dir; absolute paths mean what they mean to the shell, so
 * SFTP and exec see the same files (it is a starting point, not a chroot). 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants, type Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import type { Attributes, Connection, ParsedKey, ServerChannel, SFTPWrapper } from 'ssh2';
import type { TestSshServer } from './sshd.js';

const { Server, utils } = ssh2;
const { STATUS_CODE } = utils.sftp;
const CleanPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Starts the server on 127.0.0.1 (`port` to restart on the same address, e.g. with a new host key). */
export async function startInProcessSshServer(options: { port?: number } = {}): Promise<TestSshServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'asg-rolling-ssh2-'));
  const home = path.join(dir, 'home');
  await fs.mkdir(home);
  const user = userInfo().username;
  const hostKey = generateKey('test-host');
  // A second host key of another type, as sshd (and a stock AMI) offers.
  const ecdsaHostKey = utils.generateKeyPairSync('ecdsa', { bits: 256 });
  const clientKey = generateKey('test-client');
  const allowed = parsed(clientKey.public);
  const connections = new Set<Connection>();
  const children = new Set<ChildProcess>();

  const server = new Server({ hostKeys: [hostKey.private, ecdsaHostKey.private] }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.username !== user) return ctx.reject(['publickey']);
      if (ctx.key.algo !== allowed.type || !ctx.key.data.equals(allowed.getPublicSSH())) return ctx.reject();
      // Without a signature the client only asks whether this key would do.
      if (!ctx.signature) return ctx.accept();
      return allowed.verify(ctx.blob ?? Buffer.alloc(0), ctx.signature, ctx.hashAlgo) === true
        ? ctx.accept()
        : ctx.reject();
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('env', (_accept, reject) => reject?.());
        session.on('exec', (accept, _reject, info) => {
          const child = runCommand({ channel: accept(), command: info.command, home, user });
          children.add(child);
          child.on('exit', () => children.delete(child));
        });
        session.on('sftp', (accept) => serveSftp(accept(), home));
      });
    });
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      const address = server.address();
      if (address && typeof address === 'object') resolve(address.port);
      else reject(new Error('no address'));
    });
  });
  const [hostType, hostBlob] = hostKey.public.split(' ');
  return {
    port,
    host: '127.0.0.1',
    user,
    privateKey: clientKey.private,
    publicKey: clientKey.public.trim(),
    hostPublicKey: hostKey.public.trim(),
    knownHostsLine: `[127.0.0.1]:${port} ${hostType} ${hostBlob}`,
    ecdsaHostPublicKey: ecdsaHostKey.public.trim().split(/\s+/).slice(0, 2).join(' '),
    dir,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const client of connections) client.end();
      // Like a machine going away: nothing it ran outlives it.
      for (const child of children) killGroup(child, 'SIGKILL');
      await closed;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * ssh2's generator drops a leading zero byte of an ed25519 public key (about 1 key in 256), which
 * then fails to parse: draw again until both halves read back whole.
 */
function generateKey(comment: string): { private: string; public: string } {
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519', { comment });
    const pub = utils.parseKey(pair.public);
    const priv = utils.parseKey(pair.private);
    if (
      !(pub instanceof Error) &&
      !(priv instanceof Error) &&
      pub.getPublicSSH().equals(priv.getPublicSSH())
    ) {
      return pair;
    }
  }
}

function parsed(publicKey: string): ParsedKey {
  const key = utils.parseKey(publicKey);
  if (key instanceof Error) throw key;
  return key;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Runs an exec request as sshd does: the login shell's `-c`, in a new session, a minimal env. */
function runCommand(options: {
  channel: ServerChannel;
  command: string;
  home: string;
  user: string;
}): ChildProcess {
  const { channel } = options;
  const child = spawn('/bin/sh', ['-c', options.command], {
    cwd: options.home,
    env: { PATH: CleanPath, HOME: options.home, USER: options.user, LOGNAME: options.user, SHELL: '/bin/sh' },
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(channel, { end: false });
  child.stderr?.pipe(channel.stderr, { end: false });
  channel.pipe(child.stdin!).on('error', () => undefined);
  child.stdin?.on('error', () => undefined);
  channel.on('error', () => undefined);
  child.on('error', (error) => {
    channel.stderr.write(`${error.message}\n`);
    channel.exit(127);
    channel.end();
  });
  // 'close' waits for stdout/stderr to drain, so no output is lost after the exit status.
  child.on('close', (code, signal) => {
    try {
      if (signal) channel.exit(signal.replace(/^SIG/, ''), false, '');
      else channel.exit(code ?? 0);
      channel.end();
    } catch {
      // The client went away first.
    }
  });
  return child;
}

function toAttrs(info: Stats): Attributes {
  return {
    mode: info.mode,
    uid: info.uid,
    gid: info.gid,
    size: info.size,
    atime: Math.floor(info.atimeMs / 1000),
    mtime: Math.floor(info.mtimeMs / 1000),
  };
}

function statusOf(error: unknown): number {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return STATUS_CODE.NO_SUCH_FILE;
  if (code === 'EACCES' || code === 'EPERM') return STATUS_CODE.PERMISSION_DENIED;
  return STATUS_CODE.FAILURE;
}

/** SFTP v3 over the local file system; handles are small counters mapped to open files or listings. */
function serveSftp(sftp: SFTPWrapper, home: string): void {
  const files = new Map<number, fs.FileHandle>();
  const listings = new Map<number, { dir: string; names: string[] | undefined }>();
  let next = 1;
  const handleOf = (id: number): Buffer => {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(id);
    return buffer;
  };
  const idOf = (handle: Buffer): number => (handle.length === 4 ? handle.readUInt32BE(0) : -1);
  const resolve = (p: string): string => path.resolve(home, p || '.');
  /** Runs one request; any file system error becomes the matching SFTP status. */
  const serve = (reqId: number, work: () => Promise<void>): void => {
    work().catch((error: unknown) => {
      sftp.status(reqId, statusOf(error), (error as Error).message);
    });
  };
  const ok = (reqId: number): void => {
    sftp.status(reqId, STATUS_CODE.OK);
  };
  const setAttrs = async (target: string | fs.FileHandle, attrs: Attributes): Promise<void> => {
    const file = typeof target === 'string' ? undefined : target;
    if (attrs.mode !== undefined)
      await (file ? file.chmod(attrs.mode) : fs.chmod(target as string, attrs.mode));
    if (attrs.atime !== undefined && attrs.mtime !== undefined) {
      await (file
        ? file.utimes(attrs.atime, attrs.mtime)
        : fs.utimes(target as string, attrs.atime, attrs.mtime));
    }
  };
  const fileOf = (handle: Buffer): fs.FileHandle => {
    const file = files.get(idOf(handle));
    if (!file) throw Object.assign(new Error('invalid handle'), { code: 'EBADF' });
    return file;
  };

  sftp.on('REALPATH', (reqId: number, p: string) => {
    const full = resolve(p);
    sftp.name(reqId, [{ filename: full, longname: full, attrs: {} as Attributes }]);
  });
  for (const event of ['STAT', 'LSTAT'] as const) {
    sftp.on(event, (reqId: number, p: string) =>
      serve(reqId, async () => {
        const info = event === 'STAT' ? await fs.stat(resolve(p)) : await fs.lstat(resolve(p));
        sftp.attrs(reqId, toAttrs(info));
      }),
    );
  }
  sftp.on('FSTAT', (reqId: number, handle: Buffer) =>
    serve(reqId, async () => {
      sftp.attrs(reqId, toAttrs(await fileOf(handle).stat()));
    }),
  );
  sftp.on('OPEN', (reqId: number, filename: string, flags: number, attrs: Attributes) =>
    serve(reqId, async () => {
      const mode = utils.sftp.flagsToString(flags);
      if (!mode) throw new Error(`unsupported open flags ${flags}`);
      const file = await fs.open(resolve(filename), mode, attrs.mode ?? 0o644);
      const id = next++;
      files.set(id, file);
      sftp.handle(reqId, handleOf(id));
    }),
  );
  sftp.on('WRITE', (reqId: number, handle: Buffer, offset: number, data: Buffer) =>
    serve(reqId, async () => {
      await fileOf(handle).write(data, 0, data.length, offset);
      ok(reqId);
    }),
  );
  sftp.on('READ', (reqId: number, handle: Buffer, offset: number, length: number) =>
    serve(reqId, async () => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await fileOf(handle).read(buffer, 0, length, offset);
      if (bytesRead === 0) sftp.status(reqId, STATUS_CODE.EOF);
      else sftp.data(reqId, buffer.subarray(0, bytesRead));
    }),
  );
  sftp.on('FSETSTAT', (reqId: number, handle: Buffer, attrs: Attributes) =>
    serve(reqId, async () => {
      await setAttrs(fileOf(handle), attrs);
      ok(reqId);
    }),
  );
  sftp.on('SETSTAT', (reqId: number, p: string, attrs: Attributes) =>
    serve(reqId, async () => {
      await setAttrs(resolve(p), attrs);
      ok(reqId);
    }),
  );
  sftp.on('CLOSE', (reqId: number, handle: Buffer) =>
    serve(reqId, async () => {
      const id = idOf(handle);
      const file = files.get(id);
      if (!file && !listings.has(id)) throw Object.assign(new Error('invalid handle'), { code: 'EBADF' });
      files.delete(id);
      listings.delete(id);
      await file?.close();
      ok(reqId);
    }),
  );
  sftp.on('MKDIR', (reqId: number, p: string, attrs: Attributes) =>
    serve(reqId, async () => {
      await fs.mkdir(resolve(p), { mode: attrs.mode ?? 0o755 });
      ok(reqId);
    }),
  );
  sftp.on('OPENDIR', (reqId: number, p: string) =>
    serve(reqId, async () => {
      const dir = resolve(p);
      if (!(await fs.stat(dir)).isDirectory())
        throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      const id = next++;
      listings.set(id, { dir, names: undefined });
      sftp.handle(reqId, handleOf(id));
    }),
  );
  sftp.on('READDIR', (reqId: number, handle: Buffer) =>
    serve(reqId, async () => {
      const listing = listings.get(idOf(handle));
      if (!listing) throw Object.assign(new Error('invalid handle'), { code: 'EBADF' });
      // The whole listing goes in one reply; the next READDIR answers EOF.
      if (listing.names) return void sftp.status(reqId, STATUS_CODE.EOF);
      listing.names = await fs.readdir(listing.dir);
      const entries = await Promise.all(
        listing.names.map(async (filename) => {
          const attrs = toAttrs(await fs.lstat(path.join(listing.dir, filename)));
          return { filename, longname: filename, attrs };
        }),
      );
      if (entries.length === 0) sftp.status(reqId, STATUS_CODE.EOF);
      else sftp.name(reqId, entries);
    }),
  );
  sftp.on('REMOVE', (reqId: number, p: string) =>
    serve(reqId, async () => {
      await fs.unlink(resolve(p));
      ok(reqId);
    }),
  );
  sftp.on('RMDIR', (reqId: number, p: string) =>
    serve(reqId, async () => {
      await fs.rmdir(resolve(p));
      ok(reqId);
    }),
  );
  sftp.on('RENAME', (reqId: number, from: string, to: string) =>
    serve(reqId, async () => {
      // SFTP v3 rename must not overwrite, unlike rename(2).
      const exists = await fs.access(resolve(to), fsConstants.F_OK).then(
        () => true,
        () => false,
      );
      if (exists) throw new Error('target exists');
      await fs.rename(resolve(from), resolve(to));
      ok(reqId);
    }),
  );
  sftp.on('close', () => {
    for (const file of files.values()) void file.close().catch(() => undefined);
    files.clear();
    listings.clear();
  });
}

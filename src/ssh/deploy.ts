/**
 * Deploying to one temporary instance over SSH with node-ssh: upload the user's files, then run
 * their script in a clean environment, streaming its output to the log.
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
// Must stay above node-ssh: see cjs-globals.ts.
import './cjs-globals.js';
import { NodeSSH } from 'node-ssh';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/runtime.js';
import {
  killCommand,
  pidFileName,
  remotePath,
  removeCommands,
  scriptCommand,
  type ScriptInvocation,
} from './command.js';
import { hostKeyCheck, type HostKeyVerifier } from './host-keys.js';
import { LineSplitter, Tail } from './lines.js';
import { uploadAll, type UploadItem } from './upload.js';

const StderrTailLines = 20;
/** After TERM, how long the script gets to exit before its process group is killed. */
const KillGraceMs = 3_000;
/** A kill command on a healthy connection takes milliseconds; a dead one must not hold us up. */
const KillCommandMs = 5_000;

export interface DeployOverSshOptions {
  host: string;
  port: number;
  username: string;
  /** The private key text; kept in memory only and never logged. */
  privateKey: string;
  hostKeys: HostKeyVerifier;
  /**
   * The instance behind host:port. Pins follow it, so the key its readiness probe pinned is the
   * one this connection must see, even if another instance held the address earlier in the run.
   */
  instanceId?: string;
  /** Local paths relative to `workspace`; a directory's contents go under uploadDir/<basename>. */
  upload: readonly string[];
  /** Remote directory, relative to the user's home unless absolute. */
  uploadDir: string;
  /** Local script path relative to `workspace`, or '' to only upload. */
  script: string;
  env: Readonly<Record<string, string>>;
  /** For the whole deploy: connect, upload and script. */
  timeoutMs: number;
  workspace: string;
  log: Logger;
  signal: AbortSignal;
}

/**
 * Ships the build to one instance and runs the deploy script there. Fails with the script's exit
 * code and its last stderr lines, on timeout (after killing the script's processes), or as soon
 * as the run is aborted. The connection is always closed.
 */
export async function deployOverSsh(options: DeployOverSshOptions): Promise<void> {
  const { host, port, username, log } = options;
  const where = `${username}@${host}:${port}`;
  const uploadDir = remotePath(options.uploadDir);
  const scriptName = options.script ? path.basename(options.script) : '';
  // This deploy's own names on the instance: other deploys may share the directory (see upload.ts).
  const token = randomBytes(6).toString('hex');
  const pidFile = pidFileName(token);
  // Validate everything local before touching the network: bad env names, missing files.
  const invocation = scriptName
    ? scriptCommand({ uploadDir, script: scriptName, pidFile, user: username, env: options.env })
    : undefined;
  const items = await localItems(options, uploadDir);

  const stop = new AbortController();
  const timer = setTimeout(
    () =>
      stop.abort(new Error(`deploy to ${where} timed out after ${Math.round(options.timeoutMs / 1000)} s`)),
    options.timeoutMs,
  );
  const onAbort = (): void => stop.abort(options.signal.reason);
  if (options.signal.aborted) onAbort();
  else options.signal.addEventListener('abort', onAbort, { once: true });

  const ssh = new NodeSSH();
  try {
    stop.signal.throwIfAborted();
    await connect(ssh, options, stop.signal);
    const connection = ssh.connection;
    // node-ssh stops listening for errors once connected; an unheard 'error' would crash the process.
    connection?.on('error', (error) => log.debug(`SSH connection to ${where}: ${errorMessage(error)}`));
    connection?.on('close', () => stop.abort(new Error(`SSH connection to ${where} closed unexpectedly`)));

    if (items.length > 0) log.info(`uploading ${items.length} path(s) to ${where}:${uploadDir}`);
    const count = await until(
      uploadAll({ ssh, root: uploadDir, items, token, workspace: options.workspace }),
      stop.signal,
    );
    if (items.length > 0) log.info(`uploaded ${count} file(s)`);
    if (invocation) {
      log.info(`running ${scriptName} on ${where} in ${uploadDir}`);
      await runScript({ ssh, invocation, uploadDir, pidFile, log, stop: stop.signal });
    }
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onAbort);
    ssh.dispose();
  }
}

/** Resolves the upload list against the workspace, failing early on a missing path. */
async function localItems(options: DeployOverSshOptions, uploadDir: string): Promise<UploadItem[]> {
  const items: UploadItem[] = [];
  const add = async (given: string, what: string, executable = false): Promise<void> => {
    const local = path.resolve(options.workspace, given);
    const info = await stat(local).catch(() => undefined);
    if (!info) throw new Error(`${what} '${given}' does not exist in the workspace ${options.workspace}`);
    // `upload: .` means the workspace's contents, not a folder named after the checkout.
    const remote =
      local === path.resolve(options.workspace)
        ? uploadDir
        : path.posix.join(uploadDir, path.basename(local));
    items.push({ local, remote, directory: info.isDirectory(), executable });
  };
  for (const given of options.upload) await add(given, 'upload path');
  if (options.script) {
    await add(options.script, 'deploy-script', true);
    if (items.at(-1)?.directory) throw new Error(`deploy-script '${options.script}' is a directory`);
  }
  return items;
}

/**
 * Connects with the key held in memory: no key file is ever written, which is stronger than a
 * 0600 file (nothing to leak through the disk or to forget to delete). The socket is ours, made
 * with TCP_NODELAY: ssh2's own socket keeps Nagle's algorithm, and on node 24 each command's round
 * trip then waits for delayed ACKs (50–93 ms against 6–7 ms), which an upload of many small
 * files pays many times. ssh2's readyTimeout still covers the TCP connect and the handshake.
 */
async function connect(ssh: NodeSSH, options: DeployOverSshOptions, stop: AbortSignal): Promise<void> {
  const { host, port, hostKeys, log } = options;
  const check = hostKeyCheck(hostKeys, { host, port, instanceId: options.instanceId });
  // The key type known_hosts lists (or the probe pinned): a server with several keys shows that one.
  const serverHostKey = check.algorithms();
  const sock = net.connect({ host, port, noDelay: true });
  // ssh2 reports the socket's errors through connect(); this only keeps an early one from being unheard.
  const onSocketError = (error: Error): void =>
    log.debug(`SSH socket to ${host}:${port}: ${errorMessage(error)}`);
  sock.on('error', onSocketError);
  try {
    await until(
      ssh.connect({
        sock,
        host,
        port,
        username: options.username,
        privateKey: options.privateKey,
        ...(serverHostKey ? { algorithms: { serverHostKey } } : {}),
        hostVerifier: (key: Buffer): boolean => check.hostVerifier(key),
        readyTimeout: Math.min(60_000, Math.max(1_000, options.timeoutMs)),
        // Notice a vanished instance within about a minute instead of hanging until the timeout.
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
      }),
      stop,
    );
  } catch (error) {
    // A refused, timed-out or aborted connection: never leave the socket open behind it.
    sock.destroy();
    const refused = check.refused();
    if (refused) throw new Error(`SSH to ${host}:${port}: ${refused}`, { cause: error });
    if (stop.aborted) throw error;
    throw new Error(
      `Could not connect over SSH to ${options.username}@${host}:${port}: ${errorMessage(error)}`,
      {
        cause: error,
      },
    );
  }
  sock.off('error', onSocketError);
  // Pinned only now that the server has proved the key (see hostKeyCheck); the caller disposes.
  const refused = check.confirm();
  if (refused) throw new Error(`SSH to ${host}:${port}: ${refused}`);
  const notice = hostKeys.notice?.();
  if (notice) log.warning(notice);
}

async function runScript(options: {
  ssh: NodeSSH;
  invocation: ScriptInvocation;
  uploadDir: string;
  pidFile: string;
  log: Logger;
  stop: AbortSignal;
}): Promise<void> {
  const { ssh, log, stop, uploadDir, pidFile } = options;
  const tail = new Tail(StderrTailLines);
  const stdout = new LineSplitter((line) => log.info(line));
  const stderr = new LineSplitter((line) => {
    log.info(line);
    tail.push(line);
  });
  const running = ssh.execCommand(options.invocation.command, {
    stdin: options.invocation.stdin,
    onStdout: (chunk) => stdout.push(chunk),
    onStderr: (chunk) => stderr.push(chunk),
  });
  running.catch(() => undefined);
  let result: Awaited<typeof running>;
  try {
    result = await until(running, stop);
  } catch (error) {
    if (stop.aborted) {
      // Closing the connection would leave a non-tty script running: kill its process group first.
      log.info(`stopping the deploy script: ${errorMessage(error)}`);
      await bounded(ssh.execCommand(killCommand({ uploadDir, pidFile, signal: 'TERM' })), KillCommandMs);
      await bounded(running, KillGraceMs);
      // Children that outlived the script or ignore TERM.
      await bounded(ssh.execCommand(killCommand({ uploadDir, pidFile, signal: 'KILL' })), KillCommandMs);
    }
    throw error;
  } finally {
    stdout.flush();
    stderr.flush();
    // Each deploy has its own pid file: do not let them pile up in a long-lived directory.
    const [remove = ''] = removeCommands([path.posix.join(uploadDir, pidFile)]);
    await bounded(ssh.execCommand(remove), KillCommandMs);
  }
  if (result.code === 0) return;
  const ended =
    result.code === null
      ? `was ended by signal ${result.signal ?? 'unknown'}`
      : `exited with code ${result.code}`;
  throw new Error(`deploy script ${ended}; last stderr lines:\n${tail.text()}`);
}

/** Settles with `work`, or rejects with the signal's reason as soon as it aborts. */
function until<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => undefined);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Waits for best-effort work, at most `ms`; its failure does not matter. */
async function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/**
 * Building the remote shell commands. Every value that reaches a remote shell (tag values, group
 * names, user input) is data: it is single-quoted here and never interpolated raw.
 */
import path from 'node:path';

/** The only PATH the deploy script gets unless the user sets PATH in deploy-env. */
export const CleanPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Longest command we send in one exec. Linux caps one argv string (`sh -c <command>`) at 128 KiB;
 * staying well under it leaves room for any login shell or sshd in between.
 */
export const MaxCommandBytes = 32 * 1024;

const EnvName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Quotes one word for a POSIX shell: inside single quotes nothing is special, and a single quote
 * itself is written as `'\''` (close, escaped quote, reopen). Newlines, `$()`, backticks and
 * globs stay literal.
 */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Refuses names a shell could not assign, so a hostile name cannot smuggle in a command. */
export function assertEnvName(name: string): void {
  if (!EnvName.test(name)) {
    throw new Error(`Invalid environment variable name '${name}': expected [A-Za-z_][A-Za-z0-9_]*`);
  }
}

/** Turns `./deploy/x.sh`, `~/app` and the like into the forms SFTP and the shell agree on. */
export function remotePath(given: string): string {
  if (given === '~' || given === '') return '.';
  return given.startsWith('~/') ? given.slice(2) || '.' : given;
}

/**
 * Name of the file, in the upload directory, that holds the script's process group id. It carries
 * the deploy's own token: deploys that share a directory (several instances behind one address,
 * or one file system) must each kill only their own script.
 */
export function pidFileName(token: string): string {
  return `.asg-rolling-deploy-${token}.pid`;
}

/**
 * Where a file is written before it is moved into place: beside it (so the move is a rename(2) on
 * one file system), hidden, and unique to the deploy, so concurrent deploys never write the same
 * temporary file.
 */
export function temporaryName(remote: string, token: string): string {
  const dir = path.posix.dirname(remote);
  return path.posix.join(dir, `.${path.posix.basename(remote)}.asg-rolling-${token}`);
}

/** What runs the deploy script: the command line, and what is written to its standard input. */
export interface ScriptInvocation {
  readonly command: string;
  /** The environment, one quoted assignment a line: never in any process's arguments. */
  readonly stdin: string;
}

/**
 * The shell code between `env -i` and the script: reads the assignments from standard input,
 * exports them (`set -a`) and execs the script. The values travel over the SSH channel, so they
 * never stand in a command line, where `ps` or an execve audit rule (whose log would be baked into
 * the AMI) would show them.
 */
const ReadEnvThenExec = 'set -a && eval "$(cat)" && set +a && exec "$0"';

/**
 * The command that runs the deploy script in a clean environment. SSH env passing is not used:
 * sshd's AcceptEnv refuses it almost everywhere. `env -i` drops everything the login shell set,
 * then only PATH, HOME and USER are passed on the command line, and the given variables over
 * standard input, each quoted. HOME comes from the remote login shell itself (`"$HOME"`), which is
 * the account's own value, not data from us.
 *
 * The shell's pid is written first: sshd starts every non-tty session in its own session and
 * process group (setsid), so that pid is the group id, and a timeout can kill the script and all
 * its children with `kill -- -pgid` (closing the connection alone leaves them running).
 */
export function scriptCommand(options: {
  uploadDir: string;
  script: string;
  /** From pidFileName: the file, in uploadDir, that killCommand reads. */
  pidFile: string;
  user: string;
  env: Readonly<Record<string, string>>;
}): ScriptInvocation {
  const assignments = Object.entries(options.env).map(([name, value]) => {
    assertEnvName(name);
    return `${name}=${shellQuote(value)}\n`;
  });
  const script = shellQuote(`./${options.script}`);
  const command = [
    `cd ${shellQuote(remotePath(options.uploadDir))}`,
    `echo $$ > ${shellQuote(options.pidFile)}`,
    `chmod +x ${script}`,
    [
      'exec env -i',
      `PATH=${shellQuote(CleanPath)}`,
      'HOME="$HOME"',
      `USER=${shellQuote(options.user)}`,
      `/bin/sh -c ${shellQuote(ReadEnvThenExec)}`,
      script,
    ].join(' '),
  ].join(' && ');
  return { command, stdin: assignments.join('') };
}

/**
 * Signals the script's whole process group, for a timeout or a cancelled run: TERM first, then
 * KILL for whatever is left after a grace period (the caller waits in between, watching the
 * script's channel close). Tolerates a group that is already gone.
 */
export function killCommand(options: {
  uploadDir: string;
  pidFile: string;
  signal: 'TERM' | 'KILL';
}): string {
  const { signal } = options;
  const pidFile = shellQuote(path.posix.join(remotePath(options.uploadDir), options.pidFile));
  // `kill -SIG -pgid`, not `kill -SIG -- -pgid`: dash's builtin kill does not take `--`.
  return `p=$(cat ${pidFile} 2>/dev/null) || exit 0; kill -${signal} "-$p" 2>/dev/null || kill -${signal} "$p" 2>/dev/null; exit 0`;
}

/**
 * `mkdir -p` for every directory, quoted, in as few commands as fit MaxCommandBytes. Unlike an
 * SFTP mkdir after a stat, it is idempotent: deploys creating the same directory at the same
 * moment all succeed.
 */
export function mkdirCommands(dirs: readonly string[]): string[] {
  return packed({
    prefix: 'mkdir -p --',
    separator: ' ',
    parts: dirs.map((dir) => shellQuote(remotePath(dir))),
  });
}

/**
 * Moves uploaded files from their temporary names into place. rename(2) swaps the directory entry
 * atomically: a script another deploy is running keeps its old inode (no "Text file busy", no
 * half-written file read by a shell), and a reader sees the old file or the new one, never a mix.
 */
export function moveCommands(moves: readonly { from: string; to: string }[]): string[] {
  return packed({
    prefix: '',
    separator: ' && ',
    parts: moves.map(({ from, to }) => `mv -f -- ${shellQuote(from)} ${shellQuote(to)}`),
  });
}

/** `rm -f` for leftovers (temporary files of a failed upload, a finished script's pid file). */
export function removeCommands(files: readonly string[]): string[] {
  return packed({ prefix: 'rm -f --', separator: ' ', parts: files.map((file) => shellQuote(file)) });
}

/** Joins parts into commands no longer than MaxCommandBytes (a single oversized part stands alone). */
function packed(options: { prefix: string; separator: string; parts: readonly string[] }): string[] {
  const { prefix, separator } = options;
  const commands: string[] = [];
  let current = '';
  for (const part of options.parts) {
    const joined = current ? `${current}${separator}${part}` : `${prefix}${prefix ? ' ' : ''}${part}`;
    if (current && Buffer.byteLength(joined) > MaxCommandBytes) {
      commands.push(current);
      current = `${prefix}${prefix ? ' ' : ''}${part}`;
    } else {
      current = joined;
    }
  }
  if (current) commands.push(current);
  return commands;
}

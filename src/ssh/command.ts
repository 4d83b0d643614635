/**
 * Building the remote shell commands. Every value that reaches a remote shell (tag values, group
 * names, user input) is data: it is single-quoted here and never interpolated raw (DESIGN 3).
 */

/** The only PATH the deploy script gets unless the user sets PATH in deploy-env. */
export const CleanPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Name of the file, in the upload directory, that holds the script's process group id. */
export const PidFile = '.asg-rolling-deploy.pid';

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
export function remotePath(path: string): string {
  if (path === '~' || path === '') return '.';
  return path.startsWith('~/') ? path.slice(2) || '.' : path;
}

/**
 * The command that runs the deploy script in a clean environment. SSH env passing is not used:
 * sshd's AcceptEnv refuses it almost everywhere. `env -i` drops everything the login shell set,
 * then only PATH, HOME, USER and the given variables are passed, each quoted. HOME comes from the
 * remote login shell itself (`"$HOME"`), which is the account's own value, not data from us.
 *
 * The shell's pid is written first: sshd starts every non-tty session in its own session and
 * process group (setsid), so that pid is the group id, and a timeout can kill the script and all
 * its children with `kill -- -pgid` (closing the connection alone leaves them running).
 */
export function scriptCommand(options: {
  uploadDir: string;
  script: string;
  user: string;
  env: Readonly<Record<string, string>>;
}): string {
  const assignments = Object.entries(options.env).map(([name, value]) => {
    assertEnvName(name);
    return `${name}=${shellQuote(value)}`;
  });
  const script = shellQuote(`./${options.script}`);
  return [
    `cd ${shellQuote(remotePath(options.uploadDir))}`,
    `echo $$ > ${PidFile}`,
    `chmod +x ${script}`,
    [
      'exec env -i',
      `PATH=${shellQuote(CleanPath)}`,
      'HOME="$HOME"',
      `USER=${shellQuote(options.user)}`,
      ...assignments,
      script,
    ].join(' '),
  ].join(' && ');
}

/**
 * Signals the script's whole process group, for a timeout or a cancelled run: TERM first, then
 * KILL for whatever is left after a grace period (the caller waits in between, watching the
 * script's channel close). Tolerates a group that is already gone.
 */
export function killCommand(uploadDir: string, signal: 'TERM' | 'KILL'): string {
  const pidFile = `${shellQuote(remotePath(uploadDir))}/${PidFile}`;
  // `kill -SIG -pgid`, not `kill -SIG -- -pgid`: dash's builtin kill does not take `--`.
  return `p=$(cat ${pidFile} 2>/dev/null) || exit 0; kill -${signal} "-$p" 2>/dev/null || kill -${signal} "$p" 2>/dev/null; exit 0`;
}

/** `mkdir -p` for the upload directory, quoted. */
export function mkdirCommand(dir: string): string {
  return `mkdir -p -- ${shellQuote(remotePath(dir))}`;
}

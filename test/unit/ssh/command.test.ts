import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  assertEnvName,
  CleanPath,
  killCommand,
  MaxCommandBytes,
  mkdirCommands,
  moveCommands,
  pidFileName,
  remotePath,
  removeCommands,
  scriptCommand,
  type ScriptInvocation,
  shellQuote,
  temporaryName,
} from '../../../src/ssh/command.js';
import { LineSplitter, Tail } from '../../../src/ssh/lines.js';

const Hostile = [
  "it's",
  "''",
  '$(touch pwned)',
  '`touch pwned`',
  '${HOME}',
  'a\nb\n',
  '"double" \\back\\slash',
  '* ? [a-z]',
  '; touch pwned; #',
  '',
  ' leading and trailing ',
  'ünïcødé ✓',
  "'\\''",
];

const PidFile = pidFileName('t0k3n');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ssh-command-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Runs a command as sshd would: `sh -c`, with a login-like environment plus a variable that must
 * not leak; an invocation's environment goes to its standard input, as the deploy sends it.
 */
function sh(command: string | ScriptInvocation, env: Record<string, string> = {}): string {
  const invocation = typeof command === 'string' ? { command, stdin: '' } : command;
  return execFileSync('/bin/sh', ['-c', invocation.command], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? CleanPath, HOME: dir, RUNNER_SECRET: 'must-not-leak', ...env },
    input: invocation.stdin,
    encoding: 'utf8',
  });
}

describe('shellQuote', () => {
  it.each(Hostile)('keeps %j literal through a real shell', (value) => {
    expect(sh(`printf %s ${shellQuote(value)}`)).toBe(value);
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
  });
});

describe('assertEnvName', () => {
  it.each(['A', '_x', 'ASG_ROLLING_RUN_ID', 'a1'])('accepts %j', (name) => {
    expect(() => assertEnvName(name)).not.toThrow();
  });
  it.each(['', '1A', 'A-B', 'A B', 'A=B', 'A;touch pwned', '$(x)', 'Ä'])('refuses %j', (name) => {
    expect(() => assertEnvName(name)).toThrow(/Invalid environment variable name/);
  });
});

describe('remotePath', () => {
  it('turns home-relative forms into paths SFTP and the shell read alike', () => {
    expect(remotePath('~/app')).toBe('app');
    expect(remotePath('~')).toBe('.');
    expect(remotePath('')).toBe('.');
    expect(remotePath('/opt/app')).toBe('/opt/app');
    expect(remotePath('releases/1')).toBe('releases/1');
  });
});

describe('scriptCommand', () => {
  async function runScript(env: Record<string, string>): Promise<Record<string, string>> {
    const upload = path.join(dir, 'upload dir');
    execFileSync('mkdir', ['-p', upload]);
    // The script dumps its environment NUL-separated so values with newlines survive.
    await writeFile(path.join(upload, 'run.sh'), '#!/bin/sh\nenv -0 > env.out\n');
    sh(scriptCommand({ uploadDir: upload, pidFile: PidFile, script: 'run.sh', user: 'deploy', env }));
    const dumped = readFileSync(path.join(upload, 'env.out'), 'utf8').split('\0').filter(Boolean);
    const seen = Object.fromEntries(
      dumped.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
    );
    // The shell running the script adds these itself; they are not passed by us.
    for (const own of ['PWD', 'SHLVL', '_', 'OLDPWD']) delete seen[own];
    return seen;
  }

  it('gives the script exactly PATH, HOME, USER and the given variables, hostile values intact', async () => {
    const env = Object.fromEntries(Hostile.map((value, i) => [`V${i}`, value]));
    const seen = await runScript(env);
    expect(seen).toEqual({ PATH: CleanPath, HOME: dir, USER: 'deploy', ...env });
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
    expect(existsSync(path.join(dir, 'upload dir', 'pwned'))).toBe(false);
  });

  it('keeps every value out of the command line: the values travel on standard input', () => {
    const env = { API_TOKEN: 'tok-3f9a1c', ...Object.fromEntries(Hostile.map((v, i) => [`V${i}`, v])) };
    const invocation = scriptCommand({ uploadDir: 'u', pidFile: PidFile, script: 'run.sh', user: 'u', env });
    expect(invocation.command).not.toContain('tok-3f9a1c');
    for (const name of Object.keys(env)) expect(invocation.command).not.toContain(name);
    expect(invocation.stdin).toContain(`API_TOKEN='tok-3f9a1c'`);
  });

  it('lets the user override PATH', async () => {
    expect((await runScript({ PATH: '/opt/bin:/usr/bin:/bin' })).PATH).toBe('/opt/bin:/usr/bin:/bin');
  });

  it('refuses a bad variable name before anything runs', () => {
    expect(() =>
      scriptCommand({
        uploadDir: 'x',
        pidFile: PidFile,
        script: 'run.sh',
        user: 'u',
        env: { 'A;touch pwned': '1' },
      }),
    ).toThrow(/Invalid environment variable name 'A;touch pwned'/);
  });

  it('quotes a hostile upload dir and script name', async () => {
    const upload = path.join(dir, "it's $(touch pwned)");
    sh(mkdirCommands([upload]).join(';'));
    await writeFile(path.join(upload, "x'; touch pwned.sh"), '#!/bin/sh\necho ran\n');
    const out = sh(
      scriptCommand({
        uploadDir: upload,
        pidFile: PidFile,
        script: "x'; touch pwned.sh",
        user: 'u',
        env: {},
      }),
    );
    expect(out).toBe('ran\n');
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
    expect(existsSync(path.join(upload, 'pwned'))).toBe(false);
  });

  it('records the pid of the process group the script runs in', async () => {
    const upload = path.join(dir, 'u');
    sh(mkdirCommands([upload]).join(';'));
    await writeFile(path.join(upload, 'run.sh'), '#!/bin/sh\necho $$\n');
    const out = sh(
      scriptCommand({ uploadDir: upload, pidFile: PidFile, script: 'run.sh', user: 'u', env: {} }),
    );
    // `exec` replaces the shell, so the script runs as the very process whose pid was written.
    expect((await readFile(path.join(upload, PidFile), 'utf8')).trim()).toBe(out.trim());
  });
});

/** Alive and not a zombie: a zombie is dead, it only waits to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('killCommand', () => {
  it('kills the script and its children, as a process group', async () => {
    // A session of its own, as sshd gives every non-tty command.
    const child = spawn('/bin/sh', ['-c', `echo $$ > ${PidFile}; sleep 100 & echo $! > sleep.pid; wait`], {
      cwd: dir,
      detached: true,
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let sleepPid = 0;
    for (let i = 0; i < 100 && !sleepPid; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      sleepPid = Number((await readFile(path.join(dir, 'sleep.pid'), 'utf8').catch(() => '')).trim());
    }
    expect(alive(sleepPid)).toBe(true);
    sh(killCommand({ uploadDir: dir, pidFile: PidFile, signal: 'TERM' }));
    await exited;
    for (let i = 0; i < 50 && alive(sleepPid); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(alive(sleepPid)).toBe(false);
  });

  it('KILL ends a script that ignores TERM', async () => {
    const script = path.join(dir, 'stubborn.sh');
    await writeFile(script, `#!/bin/sh\necho $$ > ${PidFile}\ntrap '' TERM\nwhile :; do sleep 0.1; done\n`);
    await chmod(script, 0o755);
    const child = spawn(script, { cwd: dir, detached: true, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    for (let i = 0; i < 100 && !existsSync(path.join(dir, PidFile)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const started = Date.now();
    try {
      const timeout = (ms: number) =>
        new Promise((resolve) => setTimeout(() => resolve('still running'), ms));
      sh(killCommand({ uploadDir: dir, pidFile: PidFile, signal: 'TERM' }));
      expect(await Promise.race([exited, timeout(500)])).toBe('still running');
      sh(killCommand({ uploadDir: dir, pidFile: PidFile, signal: 'KILL' }));
      expect(await Promise.race([exited, timeout(5_000)])).toBe('SIGKILL');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      if (child.pid && child.exitCode === null && child.signalCode === null)
        process.kill(-child.pid, 'SIGKILL');
    }
  });

  it('does nothing when no script ever ran', () => {
    expect(() =>
      sh(killCommand({ uploadDir: path.join(dir, 'missing'), pidFile: PidFile, signal: 'KILL' })),
    ).not.toThrow();
  });
});

describe('commands for deploys sharing a directory', () => {
  it('names the pid file and temporary files after the deploy', () => {
    expect(pidFileName('abc')).toBe('.asg-rolling-deploy-abc.pid');
    expect(pidFileName('abc')).not.toBe(pidFileName('abd'));
    expect(temporaryName('app/build/index.html', 'abc')).toBe('app/build/.index.html.asg-rolling-abc');
    expect(temporaryName('run.sh', 'abc')).toBe('.run.sh.asg-rolling-abc');
  });

  it('mkdir -p is idempotent and quotes hostile names', () => {
    const dirs = Hostile.filter(Boolean).map((name, i) =>
      path.join(dir, 'made', `${i}${name.replace(/\//g, '')}`),
    );
    for (let round = 0; round < 2; round++) for (const command of mkdirCommands(dirs)) sh(command);
    for (const made of dirs) expect(existsSync(made)).toBe(true);
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
  });

  it('moves files into place and removes leftovers, quoting every path', async () => {
    const names = ["it's", '$(touch pwned)', 'a b', '-n'];
    for (const name of names) await writeFile(path.join(dir, temporaryName(name, 'tok')), name);
    await writeFile(path.join(dir, "it's"), 'old');
    for (const command of moveCommands(names.map((name) => ({ from: temporaryName(name, 'tok'), to: name }))))
      sh(command);
    for (const name of names) expect(readFileSync(path.join(dir, name), 'utf8')).toBe(name);
    for (const command of removeCommands(names)) sh(command);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('replaces a file a running process has open without disturbing it (rename, not rewrite)', async () => {
    const target = path.join(dir, 'run.sh');
    await writeFile(target, '#!/bin/sh\nsleep 1\necho old\n');
    await chmod(target, 0o755);
    const child = spawn(target, { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise((resolve) => child.once('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await writeFile(path.join(dir, temporaryName('run.sh', 'tok')), '#!/bin/sh\necho new\n', { mode: 0o755 });
    for (const command of moveCommands([{ from: temporaryName('run.sh', 'tok'), to: 'run.sh' }])) sh(command);
    await exited;
    expect(out).toBe('old\n');
    expect(sh('./run.sh')).toBe('new\n');
  });

  it('splits long lists into commands below the exec limit, losing nothing', () => {
    // Long names, few processes: 600 × ~120 bytes is over twice the limit.
    const dirs = Array.from({ length: 600 }, (_, i) => path.join(dir, 'many', `${i}-${'x'.repeat(80)}`));
    const commands = mkdirCommands(dirs);
    expect(commands.length).toBeGreaterThan(1);
    for (const command of commands) expect(Buffer.byteLength(command)).toBeLessThanOrEqual(MaxCommandBytes);
    for (const command of commands) sh(command);
    expect(readdirSync(path.join(dir, 'many'))).toHaveLength(600);
    const moves = moveCommands(dirs.map((d) => ({ from: d, to: `${d}-moved` })));
    expect(moves.length).toBeGreaterThan(1);
    for (const command of moves) sh(command);
    expect(readdirSync(path.join(dir, 'many')).filter((name) => name.endsWith('-moved'))).toHaveLength(600);
  });
});

describe('LineSplitter and Tail', () => {
  it('emits whole lines however the bytes were cut, and the rest on flush', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    const text = Buffer.from('one\r\ntwo ✓\nthree\n\nlast');
    // Cut inside the three-byte check mark.
    const cut = text.indexOf(Buffer.from('✓')) + 1;
    splitter.push(text.subarray(0, 2));
    splitter.push(text.subarray(2, cut));
    splitter.push(text.subarray(cut));
    expect(lines).toEqual(['one', 'two ✓', 'three', '']);
    splitter.flush();
    expect(lines).toEqual(['one', 'two ✓', 'three', '', 'last']);
    splitter.flush();
    expect(lines).toHaveLength(5);
  });

  it('keeps only the last lines', () => {
    const tail = new Tail(3);
    for (let i = 1; i <= 10; i++) tail.push(`line ${i}`);
    expect(tail.text()).toBe('line 8\nline 9\nline 10');
  });
});

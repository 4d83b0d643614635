import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net, { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../../src/lib/runtime.js';
import { createHostKeyVerifier, deployOverSsh, type DeployOverSshOptions } from '../../../src/ssh/index.js';
import { freePort } from '../../helpers/sshd.js';

const quiet: Logger = {
  info: () => undefined,
  warning: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  child: () => quiet,
};

const clientKey = ssh2.utils.generateKeyPairSync('ed25519').private;
let workspace: string;
let closedPort: number;

beforeAll(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'ssh-deploy-'));
  await mkdir(path.join(workspace, 'build'));
  await writeFile(path.join(workspace, 'deploy.sh'), '#!/bin/sh\n');
  closedPort = await freePort();
});
afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

function options(overrides: Partial<DeployOverSshOptions>): DeployOverSshOptions {
  return {
    host: '127.0.0.1',
    port: closedPort,
    username: 'deploy',
    privateKey: clientKey,
    hostKeys: createHostKeyVerifier({
      user: 'deploy',
      privateKey: '',
      port: 22,
      address: 'private',
      timeoutSeconds: 30,
      hostKeyChecking: 'accept-new',
      knownHosts: [],
    }),
    upload: ['build'],
    uploadDir: 'app',
    script: 'deploy.sh',
    env: {},
    timeoutMs: 5_000,
    workspace,
    log: quiet,
    signal: new AbortController().signal,
    ...overrides,
  };
}

describe('deployOverSsh checks what it can before connecting', () => {
  // Nothing listens on closedPort: reaching the network would fail with ECONNREFUSED instead.
  it('refuses a bad environment variable name', async () => {
    await expect(deployOverSsh(options({ env: { 'X;reboot': '1' } }))).rejects.toThrow(
      "Invalid environment variable name 'X;reboot'",
    );
  });

  it('names an upload path missing from the workspace', async () => {
    await expect(deployOverSsh(options({ upload: ['build', 'dist'] }))).rejects.toThrow(
      `upload path 'dist' does not exist in the workspace ${workspace}`,
    );
  });

  it('refuses a deploy script that is a directory', async () => {
    await expect(deployOverSsh(options({ script: 'build' }))).rejects.toThrow(
      "deploy-script 'build' is a directory",
    );
  });

  it('says the key cannot be read, without showing it', async () => {
    const error = await deployOverSsh(options({ privateKey: 'secret-material' })).catch((e: Error) => e);
    expect((error as Error).message).toMatch(
      /^Could not connect over SSH to deploy@127\.0\.0\.1:\d+: Cannot parse privateKey/,
    );
    expect((error as Error).message).not.toContain('secret-material');
  });

  it('says where it could not connect', async () => {
    await expect(deployOverSsh(options({}))).rejects.toThrow(
      new RegExp(`^Could not connect over SSH to deploy@127\\.0\\.0\\.1:${closedPort}: .*ECONNREFUSED`),
    );
  });
});

describe('deployOverSsh limits', () => {
  let server: Server;
  let port: number;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    // Accepts and never answers: a machine whose sshd hangs.
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      // Read (and drop) what the client sends, so its hang-up is seen.
      socket.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('gives up on a hanging server at the timeout and closes the connection', async () => {
    const started = Date.now();
    await expect(deployOverSsh(options({ port, timeoutMs: 1_000 }))).rejects.toThrow(
      `deploy to deploy@127.0.0.1:${port} timed out after 1 s`,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect([...sockets].every((socket) => socket.destroyed || socket.readableEnded)).toBe(true);
  });

  it('stops at once when the run is aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled');
    setTimeout(() => controller.abort(reason), 200);
    const started = Date.now();
    await expect(deployOverSsh(options({ port, signal: controller.signal }))).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('connects over its own socket with TCP_NODELAY, and closes it when the run is aborted', async () => {
    const connect = vi.spyOn(net, 'connect');
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('cancelled')), 200);
      await expect(deployOverSsh(options({ port, signal: controller.signal }))).rejects.toThrow('cancelled');
      expect(connect).toHaveBeenCalledTimes(1);
      expect(connect.mock.calls[0]?.[0]).toEqual({ host: '127.0.0.1', port, noDelay: true });
      const socket = connect.mock.results[0]?.value as Socket;
      expect(socket.destroyed).toBe(true);
    } finally {
      connect.mockRestore();
    }
  });

  it('does not even connect when the run is already aborted', async () => {
    const before = sockets.size;
    const controller = new AbortController();
    controller.abort(new Error('already'));
    await expect(deployOverSsh(options({ port, signal: controller.signal }))).rejects.toThrow('already');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sockets.size).toBe(before);
  });
});

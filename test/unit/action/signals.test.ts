import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { installSignalHandlers } from '../../../src/action/signals.js';
import { recordingLogger } from '../../helpers/fakes.js';

function install(
  overrides: { keepInstances?: boolean; terminate?: (ids: readonly string[]) => Promise<void> } = {},
) {
  const target = new EventEmitter();
  const controller = new AbortController();
  const terminate = vi.fn(overrides.terminate ?? (async () => undefined));
  const exit = vi.fn();
  const log = recordingLogger();
  const uninstall = installSignalHandlers({
    controller,
    pendingInstances: () => ['i-1', 'i-2'],
    terminate,
    keepInstances: overrides.keepInstances ?? false,
    log,
    exit,
    target: target as unknown as Pick<NodeJS.Process, 'on' | 'off'>,
    terminateBudgetMs: 50,
    graceMs: 10,
  });
  return { target, controller, terminate, exit, log, uninstall };
}

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('installSignalHandlers', () => {
  it('on SIGINT aborts the run, terminates every registered instance and exits 130', async () => {
    const { target, controller, terminate, exit } = install();
    target.emit('SIGINT');
    expect(controller.signal.aborted).toBe(true);
    expect((controller.signal.reason as Error).message).toBe('cancelled by SIGINT');
    await settle(30);
    expect(terminate).toHaveBeenCalledWith(['i-1', 'i-2']);
    expect(exit).toHaveBeenCalledWith(130);
  });

  it('handles the SIGTERM that follows a SIGINT without terminating twice', async () => {
    const { target, terminate, log } = install();
    target.emit('SIGINT');
    target.emit('SIGTERM');
    await settle(30);
    expect(terminate).toHaveBeenCalledTimes(1);
    expect(log.lines).toContain('warning Received SIGTERM again: still terminating the temporary instances');
  });

  it('gives up on a hanging termination within its budget and still exits', async () => {
    const { target, exit, log } = install({ terminate: () => new Promise(() => undefined) });
    target.emit('SIGTERM');
    await settle(100);
    expect(exit).toHaveBeenCalledWith(143);
    expect(log.lines.some((l) => l.includes('did not finish within 50 ms'))).toBe(true);
  });

  it('keeps the instances with keep-instances', async () => {
    const { target, terminate, log } = install({ keepInstances: true });
    target.emit('SIGINT');
    await settle(30);
    expect(terminate).not.toHaveBeenCalled();
    expect(log.lines).toContain('warning Keeping temporary instance(s) i-1, i-2 (keep-instances: true)');
  });

  it('removes its handlers', () => {
    const { target, uninstall } = install();
    expect(target.listenerCount('SIGINT')).toBe(1);
    uninstall();
    expect(target.listenerCount('SIGINT')).toBe(0);
    expect(target.listenerCount('SIGTERM')).toBe(0);
  });
});

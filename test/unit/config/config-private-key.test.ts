/** readConfig: the SSH private key is masked, normalized and never echoed. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/index.js';
import { KEY_BODY, KEY, deploy, useWorkspace } from './config-builders.js';

const { read, problems } = useWorkspace();

describe('readConfig: private key', () => {
  it('masks the key as soon as it is read, even when other inputs are wrong', () => {
    const secrets: string[] = [];
    expect(() => read({ ...deploy, 'max-parallel': '0' }, { secrets })).toThrow(ConfigError);
    expect(secrets).toContain(KEY.trim());
    expect(secrets).toContain(KEY_BODY);
    expect(secrets.some((s) => s.startsWith('-----'))).toBe(true); // the whole key, armor and all
    expect(secrets).not.toContain('-----BEGIN OPENSSH PRIVATE KEY-----');
  });

  it.each([
    ['without a final newline', KEY.trimEnd()],
    ['with CRLF line ends', KEY.replace(/\n/g, '\r\n')],
    ['with literal \\n', KEY.trimEnd().replace(/\n/g, '\\n')],
  ])('normalizes a key %s', (_what, key) => {
    expect(read({ ...deploy, 'ssh-private-key': key }).ssh.privateKey).toBe(KEY);
  });

  it('refuses a value that is not a key without echoing it', () => {
    const lines = problems({ ...deploy, 'ssh-private-key': 'hunter2-secret' });
    expect(lines).toEqual(['Input "ssh-private-key" must be ' + lines[0]?.split(' must be ')[1]]);
    expect(lines[0]).toContain('got a value of 14 characters.');
    expect(lines.join()).not.toContain('hunter2');
  });
});

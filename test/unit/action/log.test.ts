import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger, neutralizeCommands, redactingLogger, redactor } from '../../../src/action/log.js';
import { runnerCommands } from '../../helpers/runner-commands.js';

const Hostile = [
  '::add-mask::everything',
  '  ::stop-commands::tok',
  '::error title=x::pwned',
  'text ##[error]pwned',
  '##[set-output name=a]b',
  'a\r::warning::pwned',
  'ok\n::group::pwned\r\n##[endgroup]',
];

describe('neutralizeCommands', () => {
  it.each(Hostile)('leaves no workflow command in %j', (text) => {
    expect(runnerCommands(text).length).toBeGreaterThan(0);
    expect(runnerCommands(neutralizeCommands(text))).toEqual([]);
  });
  it('changes nothing a person reads otherwise', () => {
    expect(neutralizeCommands('deployed v1.2 to [shop-web] in 3 s: a::b ok')).toBe(
      'deployed v1.2 to [shop-web] in 3 s: a::b ok',
    );
    expect(neutralizeCommands('##[x]').replace(/\u200b/g, '')).toBe('##[x]');
  });
});

describe('createLogger', () => {
  let written: string;
  beforeEach(() => {
    written = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written += String(chunk);
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it('writes remote output and AWS names as plain text, never as commands', () => {
    const log = createLogger().child('web##[stop-commands]x');
    for (const line of Hostile) log.info(line);
    expect(runnerCommands(written)).toEqual([]);
    expect(written).toContain('pwned');
  });
  it('still issues its own annotations, the hostile text only as their escaped data', () => {
    createLogger().child('web\n::error::x').warning('::add-mask::y');
    const commands = runnerCommands(written);
    expect(commands.map((c) => c.name)).toEqual(['warning']);
  });
});

describe('redactor and redactingLogger', () => {
  it('writes every secret as *** in every line and level, a longer secret whole', () => {
    const redact = redactor(['tok-1', 'tok-1-long', '']);
    expect(redact('a tok-1-long b tok-1 c')).toBe('a *** b *** c');
    expect(redact('nothing here')).toBe('nothing here');
    const lines: string[] = [];
    const sink = {
      info: (m: string) => lines.push(`info ${m}`),
      warning: (m: string) => lines.push(`warning ${m}`),
      error: (m: string) => lines.push(`error ${m}`),
      debug: (m: string) => lines.push(`debug ${m}`),
      child: () => sink,
    };
    const log = redactingLogger(sink, redact).child('web');
    log.info('+ curl -H tok-1');
    log.warning('tok-1');
    log.error('stderr: tok-1-long');
    log.debug('tok-1');
    expect(lines).toEqual(['info + curl -H ***', 'warning ***', 'error stderr: ***', 'debug ***']);
  });
});

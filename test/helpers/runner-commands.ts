/**
 * Reads a step's stdout the way GitHub's runner does for workflow commands: lines end at `\r\n`,
 * `\n` or a lone `\r`; a line whose text (leading white space trimmed) starts with `::name` is a
 * command in the `::name props::data` form, and `##[name props]data` anywhere in a line is one in
 * the older form. What a test finds here is what the runner would have acted on.
 */
export interface RunnerCommand {
  readonly form: '::' | '##[';
  readonly name: string;
  readonly data: string;
}

export function runnerCommands(stdout: string): RunnerCommand[] {
  const found: RunnerCommand[] = [];
  for (const line of stdout.split(/\r\n|\r|\n/)) {
    const trimmed = line.trimStart();
    const v2 = /^::([A-Za-z-]+)(?: [^:]*)?::(.*)$/.exec(trimmed);
    if (v2) {
      found.push({ form: '::', name: (v2[1] ?? '').toLowerCase(), data: v2[2] ?? '' });
      continue;
    }
    const at = line.indexOf('##[');
    if (at < 0) continue;
    const v1 = /^##\[([A-Za-z-]+)(?: [^\]]*)?\](.*)$/.exec(line.slice(at));
    if (v1) found.push({ form: '##[', name: (v1[1] ?? '').toLowerCase(), data: v1[2] ?? '' });
  }
  return found;
}

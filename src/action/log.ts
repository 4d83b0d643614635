/**
 * Logging through @actions/core (never console), with a `[group] ` prefix per pipeline so that
 * interleaved output of concurrent groups stays readable. Errors and warnings become annotations
 * titled with the group.
 *
 * Log lines carry text we do not control: the deploy script's output, and group, template and image
 * names from AWS. GitHub's runner reads `::command::` at the start of a line and `##[command]`
 * anywhere in one as workflow commands, so that text could mask values, stop command processing or
 * write annotations. Every info line is neutralised (docs/architecture.md, "Untrusted text");
 * warnings and errors travel as the data of our own command, which @actions/core escapes.
 */
import * as core from '@actions/core';
import type { Logger } from '../lib/runtime.js';

/** A zero-width space: it breaks the runner's command markers without changing what a person reads. */
const Breaker = '\u200b';

/** The text with no workflow command left in it: `##[` anywhere, `::` at the start of any line. */
export function neutralizeCommands(text: string): string {
  return text.replace(/##\[/g, `#${Breaker}#[`).replace(/^(\s*):(?=:)/gm, `$1:${Breaker}`);
}

export function createLogger(prefix = ''): Logger {
  const line = (message: string): string => (prefix ? `[${prefix}] ${message}` : message);
  const annotation = prefix ? { title: prefix } : {};
  return {
    info: (message) => core.info(neutralizeCommands(line(message))),
    warning: (message) => core.warning(line(message), annotation),
    error: (message) => core.error(line(message), annotation),
    debug: (message) => core.debug(line(message)),
    child: (child) => createLogger(prefix ? `${prefix}/${child}` : child),
  };
}

/**
 * A logger that writes every secret as `***` itself, whatever the runner's own masking does: the
 * deploy-env values reach us back in the script's output and its stderr tail (a `set -x`, a
 * script that prints its environment), and from there in annotations and error messages.
 */
export function redactingLogger(log: Logger, redact: (text: string) => string): Logger {
  return {
    info: (message) => log.info(redact(message)),
    warning: (message) => log.warning(redact(message)),
    error: (message) => log.error(redact(message)),
    debug: (message) => log.debug(redact(message)),
    child: (prefix) => redactingLogger(log.child(prefix), redact),
  };
}

/** Replaces each secret, longest first (so one that contains another goes whole), by `***`. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const ordered = [...new Set(secrets.filter((s) => s !== ''))].sort((a, b) => b.length - a.length);
  return (text) => ordered.reduce((out, secret) => out.split(secret).join('***'), text);
}

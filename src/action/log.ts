/**
 * Logging through @actions/core (never console), with a `[group] ` prefix per pipeline so that
 * interleaved output of concurrent groups stays readable. Errors and warnings become annotations
 * titled with the group.
 */
import * as core from '@actions/core';
import type { Logger } from '../lib/runtime.js';

export function createLogger(prefix = ''): Logger {
  const line = (message: string): string => (prefix ? `[${prefix}] ${message}` : message);
  const annotation = prefix ? { title: prefix } : {};
  return {
    info: (message) => core.info(line(message)),
    warning: (message) => core.warning(line(message), annotation),
    error: (message) => core.error(line(message), annotation),
    debug: (message) => core.debug(line(message)),
    child: (child) => createLogger(prefix ? `${prefix}/${child}` : child),
  };
}

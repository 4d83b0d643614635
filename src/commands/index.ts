/** One function per `command:` input; action/main.ts calls runCommand with the run's context. */
import { cleanupCommand } from './cleanup.js';
import { selectedNames, type CommandContext } from './context.js';
import { deployCommand } from './deploy.js';
import { rollbackCommand } from './rollback.js';
import { refreshCommand } from './refresh.js';

export type { CommandContext, CommandDeps } from './context.js';

/** Runs the configured command; group failures are in ctx.report, anything else throws. */
export async function runCommand(ctx: CommandContext): Promise<void> {
  const { config } = ctx;
  switch (config.command) {
    case 'deploy':
    case 'setup':
    case 'finalize':
      return deployCommand(config.command, ctx);
    case 'refresh':
      return refreshCommand(ctx);
    case 'cleanup':
      return cleanupCommand(ctx);
    case 'rollback':
      return rollbackCommand(ctx);
    case 'wait-idle':
      return ctx.deps.waitIdle(
        {
          groups: await selectedNames(ctx),
          timeoutSeconds: config.roll.timeoutSeconds,
          pollMs: ctx.intervals.refreshMs,
        },
        ctx.rt,
      );
  }
}

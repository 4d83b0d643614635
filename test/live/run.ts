/**
 * `npm run test:aws`: the acceptance run from the command line. Against AWS it needs
 * ASG_ROLLING_LIVE_ACCOUNT and AWS_REGION (and credentials); `--endpoint <url>` runs it against a
 * simulator instead. Exits 0 when every check held and nothing is left, 1 otherwise, 2 on bad usage.
 */
import { readFileSync } from 'node:fs';
import { runAcceptance } from './acceptance.js';
import { OptionsError, parseOptions } from './options.js';

/**
 * A simulator's instances forward SSH to a test sshd (`npm run sim -- --ssh-port N --ssh-target
 * HOST:PORT`): its user, key file and the gate port come from the environment.
 */
function simulatorAccess(env: NodeJS.ProcessEnv) {
  const keyFile = env.ASG_ROLLING_LIVE_SSH_KEY_FILE;
  const port = Number(env.ASG_ROLLING_LIVE_SSH_PORT);
  if (!keyFile || !env.ASG_ROLLING_LIVE_SSH_USER || !Number.isInteger(port)) {
    throw new OptionsError(
      'against a simulator set ASG_ROLLING_LIVE_SSH_USER, ASG_ROLLING_LIVE_SSH_KEY_FILE and ASG_ROLLING_LIVE_SSH_PORT (its SSH gate)',
    );
  }
  return {
    ssh: { user: env.ASG_ROLLING_LIVE_SSH_USER, privateKey: readFileSync(keyFile, 'utf8'), port },
    pollScale: env.ASG_ROLLING_POLL_SCALE ?? '0.005',
  };
}

try {
  const options = parseOptions(process.argv.slice(2), process.env);
  const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const simulator = options.target === 'simulator' ? simulatorAccess(process.env) : undefined;
  const result = await runAcceptance({ options, runId, ...(simulator ? { simulator } : {}) });
  process.exitCode = result.ok ? 0 : 1;
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = error instanceof OptionsError ? 2 : 1;
}

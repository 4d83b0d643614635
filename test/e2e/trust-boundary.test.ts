/**
 * The trust boundary, tried as an attacker with a foothold in the job would: the built action
 * against the simulator and a real sshd. A forged setup hand-off touches nothing; deploy-env values
 * appear nowhere the job shows or keeps, nor in any command line on the instance; remote output and
 * AWS names issue no workflow command; the summary renders hostile text as text; a malformed
 * deploy-env line is reported without its value.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { marked } from 'marked';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SetupResultVariable } from '../../src/config/hand-off.js';
import { errors, startFleet, threeGroups, transcript, type Fleet } from '../helpers/fleet.js';
import { runnerCommands } from '../helpers/runner-commands.js';

let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet();
  await writeFile(
    path.join(fleet.workspace, 'leaky.sh'),
    [
      '#!/bin/sh',
      // What a careless script does: trace every command, print its environment, and the
      // command lines of its own process and its parent, where an argv leak would show.
      'set -x',
      'env | sort',
      'for p in $$ $PPID; do tr "\\0" " " < /proc/$p/cmdline; echo; done > cmdlines.txt',
      'echo "##[error]pwned by output"',
      'echo "::add-mask::everything"',
      'echo "  ::stop-commands::tok"',
      'echo "[Approve deploy](https://evil.example/approve) ![x](https://evil.example/x.png)" >&2',
      'echo "token is $API_TOKEN" >&2',
      'exit 7',
    ].join('\n') + '\n',
    { mode: 0o755 },
  );
}, 120_000);
afterAll(async () => {
  await fleet?.stop();
});
beforeEach(async () => {
  await fleet.sim.reset();
  fleet.sim.seed(threeGroups);
});

const Token = `tok-${Math.random().toString(36).slice(2)}-secret`;

describe('secrets, untrusted output and the summary', () => {
  it('a deploy-env value is nowhere the job shows or keeps, and no remote line commands the runner', async () => {
    const inputs = fleet.inputs({
      'asg-names': 'shop-worker',
      'deploy-script': './leaky.sh',
      'deploy-env': `API_TOKEN=${Token}\nSTAGE=e2e-stage`,
    });
    const run = await fleet.main(inputs);
    expect(run.exitCode, transcript(run)).toBe(1);
    // The value was masked before anything ran, and then never written at all.
    expect(run.masks).toContain(Token);
    expect(run.stdout.indexOf(Token)).toBe(
      run.stdout.indexOf(`::add-mask::${Token}`) + '::add-mask::'.length,
    );
    for (const [where, text] of Object.entries({
      stdout: run.stdout.replace(`::add-mask::${Token}`, ''),
      stderr: run.stderr,
      summary: run.summary,
      annotations: JSON.stringify(run.annotations),
      outputs: JSON.stringify(run.outputs),
      state: JSON.stringify(run.state),
    })) {
      expect(text.includes(Token), where).toBe(false);
    }
    // The failure is still explained, with the secret as ***.
    expect(errors(run).join('\n')).toMatch(/token is \*\*\*/);
    // The script's own command line and its parent's never held the value.
    const cmdlines = await readFile(path.join(inputs['upload-dir'] ?? '', 'cmdlines.txt'), 'utf8');
    expect(cmdlines).toContain('leaky.sh');
    expect(cmdlines.includes(Token)).toBe(false);
    // The only workflow commands are the action's own: masks, its group, its annotations.
    const commands = runnerCommands(run.stdout);
    const own = new Set(['::add-mask', '::group', '::endgroup', '::error', '::warning', '::debug']);
    expect(commands.filter((c) => !own.has(`${c.form}${c.name}`))).toEqual([]);
    expect(commands.filter((c) => c.form === '##[' || c.name === 'stop-commands')).toEqual([]);
    expect(commands.filter((c) => c.name === 'add-mask').map((c) => c.data)).not.toContain('everything');
    // The summary renders the hostile stderr as text: no link, no image.
    const html = marked.parse(run.summary, { gfm: true, async: false });
    expect(html).not.toMatch(/href="https:\/\/evil|<img/);
    expect(html).toContain('Approve deploy');
  });

  it('a malformed deploy-env line fails before any AWS call, naming its line and key but not its value', async () => {
    const run = await fleet.main(fleet.inputs({ 'deploy-env': `OK=1\n1BAD=${Token}\n${Token}` }));
    expect(run.exitCode).toBe(1);
    expect(fleet.sim.calls).toEqual([]);
    expect(run.stdout).toMatch(
      /Input "deploy-env" \(line 2\) must be KEY=value lines.*got the key \\"1BAD\\"|Input "deploy-env" \(line 2\)/,
    );
    expect(run.stdout).toMatch(/\(line 3\)/);
    expect(run.stdout.includes(Token)).toBe(false);
  });
});

describe('the setup hand-off', () => {
  it("finalize refuses a forged hand-off naming another group's running instance, and touches nothing", async () => {
    // A production instance of a group, running: what an attacker would like imaged and rolled.
    const victim = [...fleet.sim.state.instances.values()]
      .map((r) => r.instance)
      .find((i) => i.State?.Name === 'running' && i.Tags?.some((t) => t.Key === 'aws:autoscaling:groupName'));
    expect(victim?.InstanceId).toBeDefined();
    const setup = await fleet.main(fleet.inputs({ command: 'setup', 'asg-names': 'shop-worker' }));
    expect(setup.exitCode, transcript(setup)).toBe(0);
    const handed = JSON.parse(setup.env[SetupResultVariable] ?? '{}') as {
      runId: string;
      images: { instanceId: string; sourceImageId: string }[];
    };
    const forgedImage = handed.images[0];
    expect(forgedImage).toBeDefined();
    for (const forged of [
      // Same run, another instance: the victim instead of setup's own.
      { ...handed, images: [{ ...forgedImage, instanceId: victim?.InstanceId ?? '' }] },
      // Another run's hand-off.
      { ...handed, runId: 'someone-else-1' },
    ]) {
      const seq = fleet.sim.calls.length;
      const finalize = await fleet.main(fleet.inputs({ command: 'finalize', 'asg-names': 'shop-worker' }), {
        after: setup,
        env: { [SetupResultVariable]: JSON.stringify(forged) },
      });
      expect(finalize.exitCode, transcript(finalize)).toBe(1);
      expect(errors(finalize).join('\n')).toMatch(
        forged.runId === handed.runId
          ? new RegExp(`instance ${victim?.InstanceId} is not one of our temporary instances`)
          : /not by this run/,
      );
      const mutating = fleet.sim.calls
        .slice(seq)
        .filter((c) => !c.action.startsWith('Describe'))
        .map((c) => c.action);
      expect(mutating).toEqual([]);
    }
    expect(fleet.sim.state.instances.get(victim?.InstanceId ?? '')?.instance.State?.Name).toBe('running');
    await fleet.post(setup);
  });
});

/**
 * The built action at the trust boundary: launch templates that protect their instances from stop
 * and termination, uploads that try to leave the workspace (by path or by symbolic link), and AWS
 * credentials that end before the run may.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Fixture } from '../sim/index.js';
import {
  DeployScript,
  errors,
  isGone,
  orphans,
  startFleet,
  temporaryInstances,
  transcript,
  type Fleet,
} from '../helpers/fleet.js';

/** One group whose template turns on both protections, as some production templates do. */
const protectedGroup: Fixture = {
  images: [{ name: 'base-web' }],
  launchTemplates: [
    {
      name: 'lt-web',
      versions: [{ imageName: 'base-web', data: { DisableApiTermination: true, DisableApiStop: true } }],
    },
  ],
  groups: [
    { name: 'shop-web', launchTemplate: { name: 'lt-web', version: '$Default' }, tags: { app: 'shop' } },
  ],
};

let fleet: Fleet;
let outside: string;

beforeAll(async () => {
  fleet = await startFleet();
  outside = await mkdtemp(path.join(tmpdir(), 'asg-rolling-outside-'));
  await writeFile(path.join(outside, 'passwd'), 'root:x:0:0\n');
  await mkdir(path.join(fleet.workspace, 'linked'));
  await writeFile(path.join(fleet.workspace, 'linked', 'app.txt'), 'v2\n');
  await symlink(path.join(outside, 'passwd'), path.join(fleet.workspace, 'linked', 'passwd'));
});
afterAll(async () => {
  await fleet?.stop();
  if (outside) await rm(outside, { recursive: true, force: true });
});
beforeEach(async () => {
  await fleet.sim.reset();
  fleet.sim.seed(protectedGroup);
});

describe('trust boundary', () => {
  it('a template with termination and stop protection still bakes, rolls, and terminates its temporary instance', async () => {
    const run = await fleet.main(fleet.inputs({ upload: 'build', 'deploy-script': DeployScript }));
    expect(run.exitCode, transcript(run)).toBe(0);
    const launches = fleet.sim.sent('RunInstances');
    expect(launches).toHaveLength(1);
    expect(temporaryInstances(fleet.sim).every(isGone)).toBe(true);
    expect(orphans(fleet.sim)).toEqual([]);
  });

  it('refuses an upload path outside the workspace before any AWS call', async () => {
    const run = await fleet.main(
      fleet.inputs({ upload: 'build\n../../../etc/passwd', 'deploy-script': DeployScript }),
    );
    expect(run.exitCode).toBe(1);
    expect(errors(run).join('\n')).toContain(
      `Input "upload" must name paths inside the workspace ${fleet.workspace}, got "../../../etc/passwd"`,
    );
    expect(fleet.sim.calls).toEqual([]);
  });

  it('refuses a symbolic link out of the workspace, naming it and its target, and leaves nothing running', async () => {
    const main = await fleet.main(fleet.inputs({ upload: 'linked', 'deploy-script': DeployScript }));
    expect(main.exitCode, transcript(main)).toBe(1);
    expect(errors(main).join('\n')).toMatch(
      /symbolic link 'linked\/passwd' points to '.*passwd', outside the workspace/,
    );
    expect(fleet.sim.calls.some((c) => c.action === 'CreateImage')).toBe(false);
    const post = await fleet.post(main);
    expect(post.exitCode, transcript(post)).toBe(0);
    expect(orphans(fleet.sim)).toEqual([]);
  });

  it('warns at the start when the credentials expire before the run may end', async () => {
    const expiration = new Date(Date.now() + 20 * 60_000).toISOString();
    const run = await fleet.main(fleet.inputs({ command: 'refresh' }), {
      env: { AWS_SESSION_TOKEN: 'session', AWS_CREDENTIAL_EXPIRATION: expiration },
    });
    expect(run.exitCode, transcript(run)).toBe(0);
    const warnings = run.annotations.filter((a) => a.level === 'warning').map((a) => a.message);
    expect(warnings.join('\n')).toMatch(
      new RegExp(
        `The AWS credentials expire at ${expiration.replace(/[.]/g, '\\.')}, in \\d+ s, .*"role-duration-seconds"`,
      ),
    );
  });
});

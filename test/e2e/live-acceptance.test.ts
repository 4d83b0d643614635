/**
 * The live acceptance run (`npm run test:aws`) against the simulator, as CI runs it: the same
 * script that deploys to a real account provisions its template and group here, runs the built
 * action's deploy, refresh and cleanup, checks them with describes and tears everything down.
 * Its refusals to run against AWS without an account and region are checked here too.
 */
import { describe, expect, it } from 'vitest';
import { runAcceptance } from '../live/acceptance.js';
import { OptionsError, parseOptions } from '../live/options.js';
import { RunIdTag } from '../live/provision.js';
import { PollScale, useFleet } from '../helpers/fleet.js';

const parameter = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64';
const fleet = useFleet({
  seed: {
    images: [{ name: 'al2023-arm64', architecture: 'arm64' }],
    parameters: [{ name: parameter, imageName: 'al2023-arm64' }],
  },
});

describe('the live acceptance run', () => {
  it('refuses AWS without an account and a region, and any endpoint off the loopback network', () => {
    expect(() => parseOptions([], {})).toThrow(OptionsError);
    expect(() => parseOptions([], { AWS_REGION: 'eu-west-1' })).toThrow(/ASG_ROLLING_LIVE_ACCOUNT/);
    expect(() => parseOptions([], { ASG_ROLLING_LIVE_ACCOUNT: '123456789012' })).toThrow(/AWS_REGION/);
    expect(() => parseOptions(['--endpoint', 'https://ec2.us-east-1.amazonaws.com'], {})).toThrow(/loopback/);
    expect(
      parseOptions([], { ASG_ROLLING_LIVE_ACCOUNT: '123456789012', AWS_REGION: 'eu-west-1' }),
    ).toMatchObject({
      target: 'aws',
      account: '123456789012',
      region: 'eu-west-1',
    });
  });

  it('deploys, refreshes and cleans up against the simulator, then leaves nothing of the run', async () => {
    const { sim, ssh, gatePort } = fleet();
    const options = parseOptions(
      [
        '--endpoint',
        sim.endpoint,
        '--dist',
        process.env.ASG_ROLLING_E2E_DIST ?? 'dist',
        '--subnets',
        'subnet-0aaaa000000000001',
      ],
      {},
    );
    const lines: string[] = [];
    const result = await runAcceptance({
      options,
      runId: 'e2e1',
      simulator: {
        ssh: { user: ssh.user, privateKey: ssh.privateKey, port: gatePort },
        pollScale: PollScale,
      },
      log: (line) => lines.push(line),
    });
    expect(
      result.checks.filter((c) => !c.ok),
      lines.join('\n'),
    ).toEqual([]);
    expect(result.checks.map((c) => c.name)).toEqual([
      'the group has one instance in service',
      'deploy succeeds',
      'deploy baked one AMI',
      'the default version names the baked AMI',
      'the group runs the baked AMI',
      'refresh succeeds',
      'cleanup succeeds',
      'cleanup keeps the AMI in use',
      'teardown deletes everything of the run',
    ]);
    expect(result.ok).toBe(true);
    expect(lines[1]).toMatch(/^Estimated cost: about \$0\.0\d\d/);
    // The template followed the public parameter; nothing tagged with the run id is left running.
    expect(
      sim.calls.some(
        (c) =>
          c.action === 'CreateLaunchTemplate' &&
          JSON.stringify(c.params).includes(`resolve:ssm:${parameter}`),
      ),
    ).toBe(true);
    const ofRun = (tags: { Key?: string; Value?: string }[] | undefined) =>
      tags?.some((t) => t.Key === RunIdTag && t.Value === 'e2e1') ?? false;
    const running = [...sim.state.instances.values()].filter(
      (r) =>
        ofRun(r.instance.Tags) && !['terminated', 'shutting-down'].includes(r.instance.State?.Name ?? ''),
    );
    expect(running).toEqual([]);
    expect([...sim.state.templates.values()].filter((t) => ofRun(t.template.Tags))).toEqual([]);
    expect([...sim.state.groups.keys()]).toEqual([]);
    expect(
      [...sim.state.images.values()].filter((i) => i.Tags?.some((t) => t.Key === 'asg-rolling:managed')),
    ).toEqual([]);
  }, 300_000);
});

// `npm run sim`: start the simulator in the foreground for demos and manual poking.
//   npm run sim -- [--empty | --fixture file.json] [--port N] [--time-scale F] [--ssh-port N --ssh-target HOST:PORT]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { buildFixture, startSimulator, type Fixture } from './index.js';

const { values } = parseArgs({
  options: {
    empty: { type: 'boolean', default: false },
    fixture: { type: 'string' },
    port: { type: 'string', default: '0' },
    'time-scale': { type: 'string', default: '1' },
    'ssh-port': { type: 'string' },
    'ssh-target': { type: 'string' },
    throttle: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(`usage: npm run sim -- [--empty | --fixture file.json] [--port N] [--time-scale F]
                    [--ssh-port N --ssh-target 127.0.0.1:22] [--throttle]
Without --empty or --fixture it seeds 3 groups (tags app=shop, env=production) over one base AMI.`);
  process.exit(0);
}

let fixture: Fixture | undefined;
if (values.fixture) fixture = JSON.parse(readFileSync(values.fixture, 'utf8')) as Fixture;
else if (!values.empty) fixture = buildFixture({ groups: 3, instancesPerGroup: 2 });

const [targetHost, targetPort] = (values['ssh-target'] ?? '').split(':');
const sim = await startSimulator({
  port: Number(values.port),
  timeScale: Number(values['time-scale']),
  fixture,
  sshPort: values['ssh-port'] ? Number(values['ssh-port']) : undefined,
  sshTarget: targetHost && targetPort ? { host: targetHost, port: Number(targetPort) } : undefined,
  throttle: { enabled: values.throttle },
});

console.log(`AWS simulator (EC2 + Auto Scaling) listening on ${sim.endpoint}

Point the AWS CLI or SDK at it:
  export AWS_ENDPOINT_URL=${sim.endpoint}
  export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  aws autoscaling describe-auto-scaling-groups --filters Name=tag:app,Values=shop
  aws ec2 describe-images --owners self

Seeded: ${JSON.stringify(sim.seeded)}
Control: curl ${sim.endpoint}/_sim/state | ${sim.endpoint}/_sim/calls | -X POST ${sim.endpoint}/_sim/reset
Ctrl-C stops it.`);

const shutdown = (): void => {
  void sim.stop().then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);

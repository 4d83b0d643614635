/**
 * What the demo prints: a one-line progress snapshot of the simulated account while the action
 * runs, the action's log as a reader of the GitHub UI would see it, and the final state as tables.
 */
import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import { Roles, Tags } from '../../src/aws/tags.js';
import type { Simulator } from '../sim/index.js';
import type { TemplateRecord } from '../sim/state.js';

type SimState = Simulator['state'];

/** One row of the final table: a group, the template version it uses, and what runs in it. */
export interface GroupRow {
  readonly group: string;
  readonly template: string;
  /** The group's version spec and the number it resolves to, e.g. `$Default → 2`. */
  readonly version: string;
  readonly imageId: string;
  readonly imageName: string;
  /** The image is an AMI this action made. */
  readonly newImage: boolean;
  /** Its running instances, and how many of them run `imageId`. */
  readonly instances: number;
  readonly onImage: number;
}

export interface FinalState {
  readonly groups: readonly GroupRow[];
  readonly amis: readonly { imageId: string; name: string; state: string; ours: boolean }[];
  /** Terminated (or terminating) instances: temporary ones and those replaced by refreshes. */
  readonly terminated: { readonly temporary: number; readonly replaced: number };
}

const tag = (
  tags: readonly { Key?: string; Value?: string }[] | undefined,
  key: string,
): string | undefined => tags?.find((t) => t.Key === key)?.Value;

/** The group's template (by id or name, as AWS returns either) and the version it asks for. */
function templateOf(
  state: SimState,
  group: AutoScalingGroup,
): { record: TemplateRecord | undefined; version: string } | undefined {
  const spec =
    group.LaunchTemplate ?? group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
  if (!spec) return undefined;
  const record =
    (spec.LaunchTemplateId ? state.templates.get(spec.LaunchTemplateId) : undefined) ??
    (spec.LaunchTemplateName ? state.templateByName(spec.LaunchTemplateName) : undefined);
  return { record, version: spec.Version ?? '$Default' };
}

/** Reads the groups, their resolved template versions, AMIs and instances from the simulator. */
export function finalState(state: SimState): FinalState {
  const instances = [...state.instances.values()];
  const groups = [...state.groups.values()]
    .sort((a, b) => (a.AutoScalingGroupName ?? '').localeCompare(b.AutoScalingGroupName ?? ''))
    .map((group): GroupRow => {
      const name = group.AutoScalingGroupName ?? '?';
      const spec = templateOf(state, group);
      const record = spec?.record;
      const number =
        spec?.version === '$Default'
          ? record?.template.DefaultVersionNumber
          : spec?.version === '$Latest'
            ? record?.template.LatestVersionNumber
            : Number(spec?.version);
      const imageId = (number && record?.versions.get(number)?.LaunchTemplateData?.ImageId) || '?';
      const running = instances.filter(
        (r) => r.groupName === name && ['pending', 'running'].includes(r.instance.State?.Name ?? ''),
      );
      return {
        group: name,
        template: record?.template.LaunchTemplateName ?? '?',
        version: spec && String(number) !== spec.version ? `${spec.version} → ${number}` : String(number),
        imageId,
        imageName: state.images.get(imageId)?.Name ?? '?',
        newImage: tag(state.images.get(imageId)?.Tags, Tags.Role) === Roles.Ami,
        instances: running.length,
        onImage: running.filter((r) => r.instance.ImageId === imageId).length,
      };
    });
  const amis = [...state.images.values()].map((image) => ({
    imageId: image.ImageId ?? '?',
    name: image.Name ?? '?',
    state: image.State ?? '?',
    ours: tag(image.Tags, Tags.Role) === Roles.Ami,
  }));
  const gone = instances.filter((r) =>
    ['shutting-down', 'terminated'].includes(r.instance.State?.Name ?? ''),
  );
  const temporary = gone.filter((r) => tag(r.instance.Tags, Tags.Role) === Roles.TemporaryInstance).length;
  return { groups, amis, terminated: { temporary, replaced: gone.length - temporary } };
}

/** Lays out rows as a plain-text table with a header rule. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The final state as the demo prints it. */
export function formatFinalState(final: FinalState): string {
  const groups = table(
    ['group', 'launch template', 'version', 'image', 'instances on it'],
    final.groups.map((g) => [
      g.group,
      g.template,
      g.version,
      `${g.imageId} (${g.newImage ? 'new AMI' : g.imageName})`,
      `${g.onImage}/${g.instances}`,
    ]),
  );
  const amis = table(
    ['AMI', 'name', 'state', 'made by'],
    final.amis.map((a) => [a.imageId, a.name, a.state, a.ours ? 'this run' : 'fixture']),
  );
  const { temporary, replaced } = final.terminated;
  return [
    groups,
    '',
    amis,
    '',
    `instances terminated: ${temporary + replaced} (${temporary} temporary, ${replaced} replaced by Instance Refresh)`,
  ].join('\n');
}

/** A one-line picture of the account while the action works. */
export function progressLine(state: SimState, elapsedMs: number): string {
  const temporary = [...state.instances.values()].filter(
    (r) => tag(r.instance.Tags, Tags.Role) === Roles.TemporaryInstance,
  );
  const count = (values: readonly string[]): string => {
    const counts = new Map<string, number>();
    for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
    return [...counts].map(([value, n]) => `${n} ${value}`).join(', ') || 'none';
  };
  const ours = [...state.images.values()].filter((image) => tag(image.Tags, Tags.Role) === Roles.Ami);
  const refreshes = [...state.refreshes.values()].map(
    ({ refresh }) =>
      `${refresh.AutoScalingGroupName ?? '?'} ${refresh.Status ?? '?'}` +
      (refresh.PercentageComplete ? ` ${refresh.PercentageComplete}%` : ''),
  );
  return [
    `  ${(elapsedMs / 1000).toFixed(1).padStart(5)} s`,
    `temporary instances: ${count(temporary.map((r) => r.instance.State?.Name ?? '?'))}`,
    `new AMIs: ${count(ours.map((image) => image.State ?? '?'))}`,
    `refreshes: ${refreshes.join(', ') || 'none'}`,
  ].join(' | ');
}

/**
 * The step's stdout as the Actions UI shows it: workflow commands become readable markers, debug
 * lines and `::add-mask::` (which carries the secret itself) are dropped.
 */
export function readableLog(stdout: string): string[] {
  const lines: string[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const command = /^::([a-z-]+)(?: [^:]*)?::(.*)$/.exec(line);
    if (!command) {
      if (line !== '') lines.push(line);
      continue;
    }
    const [, name = '', data = ''] = command;
    const text = data.replace(/%0D/g, '').replace(/%0A/g, '\n').replace(/%25/g, '%');
    if (name === 'group') lines.push(`▸ ${text}`);
    else if (name === 'error' || name === 'warning' || name === 'notice') lines.push(`${name}: ${text}`);
  }
  return lines;
}

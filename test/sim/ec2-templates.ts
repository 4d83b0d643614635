// EC2 launch template actions: Describe/Create/Modify/Delete LaunchTemplate(s) and their versions.
import type {
  CreateLaunchTemplateRequest,
  CreateLaunchTemplateResult,
  CreateLaunchTemplateVersionRequest,
  CreateLaunchTemplateVersionResult,
  DeleteLaunchTemplateRequest,
  DeleteLaunchTemplateResult,
  DeleteLaunchTemplateVersionsRequest,
  DeleteLaunchTemplateVersionsResponseErrorItem,
  DeleteLaunchTemplateVersionsResponseSuccessItem,
  DeleteLaunchTemplateVersionsResult,
  DescribeLaunchTemplatesRequest,
  DescribeLaunchTemplatesResult,
  DescribeLaunchTemplateVersionsRequest,
  DescribeLaunchTemplateVersionsResult,
  LaunchTemplate,
  LaunchTemplateVersion,
  ModifyLaunchTemplateRequest,
  ModifyLaunchTemplateResult,
  RequestLaunchTemplateData,
} from '@aws-sdk/client-ec2';

import { tagsFor } from './ec2-instances.js';
import { SimError, invalidParam } from './errors.js';
import { applyFilters, paginate, type FilterSpec } from './filters.js';
import { op, type Handler } from './handler.js';
import { withResolvedAlias } from './ssm-aliases.js';
import type { TemplateRecord } from './state.js';
import { addVersion, findTemplate, resolveVersion, setDefault, versionNumber } from './templates.js';
import type { World } from './world.js';

const templateFilters: FilterSpec<LaunchTemplate> = {
  fields: {
    'launch-template-name': (t) => t.LaunchTemplateName,
    'create-time': (t) => t.CreateTime?.toISOString(),
  },
  tags: (t) => t.Tags,
  invalid: (name) => invalidParam(`The filter '${name}' is invalid`),
};

const versionFilters: FilterSpec<LaunchTemplateVersion> = {
  fields: {
    'is-default-version': (v) => v.DefaultVersion,
    'image-id': (v) => v.LaunchTemplateData?.ImageId,
    'instance-type': (v) => v.LaunchTemplateData?.InstanceType,
    'key-name': (v) => v.LaunchTemplateData?.KeyName,
    'create-time': (v) => v.CreateTime?.toISOString(),
  },
  tags: () => [],
  invalid: (name) => invalidParam(`The filter '${name}' is invalid`),
};

function checkMax(max: number | undefined): number {
  if (max === undefined) return 200;
  if (max < 1 || max > 200)
    throw invalidParam(
      `Value ( ${max} ) for parameter maxResults is invalid. Expecting a value between 1 and 200.`,
    );
  return max;
}

const describeTemplates = op(
  (input: DescribeLaunchTemplatesRequest, world: World): DescribeLaunchTemplatesResult => {
    const ids = input.LaunchTemplateIds ?? [];
    const names = input.LaunchTemplateNames ?? [];
    let source: TemplateRecord[] = [...world.state.templates.values()];
    if (ids.length || names.length) {
      source = [
        ...ids.map((id) => findTemplate(world, { LaunchTemplateId: id })),
        ...names.map((name) => {
          const t = world.state.templateByName(name);
          if (!t) {
            throw new SimError(
              'InvalidLaunchTemplateName.NotFoundException',
              'At least one of the launch templates specified in the request does not exist.',
            );
          }
          return t;
        }),
      ];
    }
    const matching = applyFilters(
      source.map((t) => t.template),
      input.Filters,
      templateFilters,
    );
    const { page, next } = paginate(matching, {
      token: input.NextToken,
      max: checkMax(input.MaxResults),
      invalidTokenCode: 'InvalidPaginationToken',
    });
    return { LaunchTemplates: page, NextToken: next };
  },
);

function versionsOf(
  world: World,
  t: TemplateRecord,
  input: DescribeLaunchTemplateVersionsRequest,
): LaunchTemplateVersion[] {
  if (input.Versions?.length) {
    return input.Versions.map(
      (v) => resolveVersion(world, { LaunchTemplateId: t.template.LaunchTemplateId, Version: v }).version,
    );
  }
  const min = input.MinVersion ? versionNumber(t, input.MinVersion) : 0;
  const max = input.MaxVersion ? versionNumber(t, input.MaxVersion) : Infinity;
  // Newest first, as EC2 lists them.
  return [...t.versions.values()]
    .filter((v) => (v.VersionNumber ?? 0) >= min && (v.VersionNumber ?? 0) <= max)
    .sort((a, b) => (b.VersionNumber ?? 0) - (a.VersionNumber ?? 0));
}

const describeVersions = op(
  (input: DescribeLaunchTemplateVersionsRequest, world: World): DescribeLaunchTemplateVersionsResult => {
    let versions: LaunchTemplateVersion[];
    if (input.LaunchTemplateId || input.LaunchTemplateName) {
      versions = versionsOf(world, findTemplate(world, input), input);
    } else {
      // Without a template, only $Latest / $Default may be asked for: one version of every template.
      const wanted = input.Versions ?? [];
      if (!wanted.length || wanted.some((v) => v !== '$Latest' && v !== '$Default')) {
        throw new SimError(
          'MissingParameter',
          'The request must contain the parameter LaunchTemplateName or LaunchTemplateId',
        );
      }
      versions = [...world.state.templates.values()].flatMap((t) => versionsOf(world, t, input));
    }
    const matching = applyFilters(versions, input.Filters, versionFilters);
    const { page, next } = paginate(matching, {
      token: input.NextToken,
      max: checkMax(input.MaxResults),
      invalidTokenCode: 'InvalidPaginationToken',
    });
    const shown = input.ResolveAlias ? page.map((v) => withResolvedAlias(world, v)) : page;
    return { LaunchTemplateVersions: shown, NextToken: next };
  },
);

const createTemplate = op((input: CreateLaunchTemplateRequest, world: World): CreateLaunchTemplateResult => {
  const name = input.LaunchTemplateName ?? '';
  if (!/^[a-zA-Z0-9().\-/_]{3,128}$/.test(name))
    throw invalidParam(`Launch template name '${name}' is invalid`);
  if (world.state.templateByName(name)) {
    throw new SimError(
      'InvalidLaunchTemplateName.AlreadyExistsException',
      `Launch template name already in use.`,
    );
  }
  const id = world.state.id('lt');
  const tags = tagsFor(input.TagSpecifications, 'launch-template');
  const record: TemplateRecord = {
    template: {
      LaunchTemplateId: id,
      LaunchTemplateName: name,
      CreateTime: world.clock.now(),
      CreatedBy: `arn:aws:iam::${world.state.accountId}:user/sim`,
      DefaultVersionNumber: 1,
      LatestVersionNumber: 0,
      Tags: tags.length ? tags : undefined,
    },
    versions: new Map(),
    lastNumber: 0,
  };
  world.state.templates.set(id, record);
  addVersion(world, record, input.LaunchTemplateData ?? {}, input.VersionDescription);
  return { LaunchTemplate: record.template };
});

const createVersion = op(
  (input: CreateLaunchTemplateVersionRequest, world: World): CreateLaunchTemplateVersionResult => {
    const record = findTemplate(world, input);
    let data: RequestLaunchTemplateData = input.LaunchTemplateData ?? {};
    if (input.SourceVersion !== undefined) {
      const source = resolveVersion(world, {
        LaunchTemplateId: record.template.LaunchTemplateId,
        Version: input.SourceVersion,
      });
      // The new version is the source's data with the given top-level parameters replaced.
      data = {
        ...(structuredClone(source.version.LaunchTemplateData) as RequestLaunchTemplateData),
        ...data,
      };
    }
    const version = addVersion(world, record, data, input.VersionDescription);
    return { LaunchTemplateVersion: version };
  },
);

const modifyTemplate = op((input: ModifyLaunchTemplateRequest, world: World): ModifyLaunchTemplateResult => {
  const record = findTemplate(world, input);
  if (input.DefaultVersion !== undefined) {
    const { version } = resolveVersion(world, {
      LaunchTemplateId: record.template.LaunchTemplateId,
      Version: input.DefaultVersion,
    });
    setDefault(record, version.VersionNumber ?? 1);
  }
  return { LaunchTemplate: record.template };
});

const deleteVersions = op(
  (input: DeleteLaunchTemplateVersionsRequest, world: World): DeleteLaunchTemplateVersionsResult => {
    const record = findTemplate(world, input);
    const asked = input.Versions ?? [];
    if (asked.length > 200) {
      throw invalidParam(
        `You can specify up to 200 launch template versions per request; you specified ${asked.length}.`,
      );
    }
    const ok: DeleteLaunchTemplateVersionsResponseSuccessItem[] = [];
    const failed: DeleteLaunchTemplateVersionsResponseErrorItem[] = [];
    const { LaunchTemplateId, LaunchTemplateName } = record.template;
    for (const v of asked) {
      const n = /^\d+$/.test(v) ? Number(v) : NaN;
      const fail = (Code: string, Message: string): void => {
        failed.push({
          LaunchTemplateId,
          LaunchTemplateName,
          VersionNumber: Number.isNaN(n) ? undefined : n,
          ResponseError: { Code: Code as never, Message },
        });
      };
      if (Number.isNaN(n) || !record.versions.has(n))
        fail('launchTemplateVersionDoesNotExist', `Could not find launch template version ${v}.`);
      else if (n === record.template.DefaultVersionNumber)
        fail(
          'unexpectedError',
          `Cannot delete the default version (${n}) of launch template ${LaunchTemplateId}.`,
        );
      else {
        record.versions.delete(n);
        ok.push({ LaunchTemplateId, LaunchTemplateName, VersionNumber: n });
      }
    }
    record.template.LatestVersionNumber = Math.max(0, ...record.versions.keys());
    return {
      SuccessfullyDeletedLaunchTemplateVersions: ok,
      UnsuccessfullyDeletedLaunchTemplateVersions: failed,
    };
  },
);

const deleteTemplate = op((input: DeleteLaunchTemplateRequest, world: World): DeleteLaunchTemplateResult => {
  const record = findTemplate(world, input);
  world.state.templates.delete(record.template.LaunchTemplateId ?? '');
  return { LaunchTemplate: record.template };
});

export const templateHandlers: Record<string, Handler> = {
  DescribeLaunchTemplates: describeTemplates,
  DescribeLaunchTemplateVersions: describeVersions,
  CreateLaunchTemplate: createTemplate,
  CreateLaunchTemplateVersion: createVersion,
  ModifyLaunchTemplate: modifyTemplate,
  DeleteLaunchTemplateVersions: deleteVersions,
  DeleteLaunchTemplate: deleteTemplate,
};

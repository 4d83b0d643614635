/**
 * The demo's repository checkout: a tiny web app and the deploy script a user would write, plus
 * the directory that plays the instances' disks (every simulated instance forwards SSH to the one
 * local server, so they all share this file system; each instance installs into its own folder).
 */
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Version of the app the demo ships. */
export const AppVersion = '2.0.0';
/** Paths in the workspace, as a user would give them to the action. */
export const AppDir = 'app';
export const DeployScript = 'deploy/install.sh';

export interface DemoWorkspace {
  /** The checkout: GITHUB_WORKSPACE and the step's working directory. */
  readonly root: string;
  /** `upload-dir`: where the action uploads the app and runs the script. */
  readonly uploadDir: string;
  /** Where the deploy script installs each instance's copy (`<sites>/<instance id>`). */
  readonly sites: string;
}

/** Writes the app and the deploy script into a fresh temp dir. */
export async function createWorkspace(): Promise<DemoWorkspace> {
  const root = await mkdtemp(path.join(tmpdir(), 'asg-rolling-demo-'));
  const remote = path.join(root, 'instances');
  const workspace: DemoWorkspace = {
    root,
    uploadDir: path.join(remote, 'upload'),
    sites: path.join(remote, 'sites'),
  };
  await mkdir(path.join(root, AppDir), { recursive: true });
  await mkdir(path.join(root, path.dirname(DeployScript)), { recursive: true });
  await writeFile(
    path.join(root, AppDir, 'index.html'),
    `<!doctype html>\n<title>shop</title>\n<h1>shop ${AppVersion}</h1>\n`,
  );
  await writeFile(path.join(root, AppDir, 'VERSION'), `${AppVersion}\n`);
  await writeFile(
    path.join(root, DeployScript),
    [
      '#!/bin/sh',
      '# Runs on each temporary instance, from upload-dir, after the upload.',
      'set -eu',
      'site="$SITES_DIR/$ASG_ROLLING_INSTANCE_ID"',
      'mkdir -p "$site"',
      'cp -R app/. "$site/"',
      'echo "installed shop $(cat app/VERSION) on $ASG_ROLLING_INSTANCE_ID (groups $ASG_ROLLING_GROUPS)"',
      'echo "into $site, commit ${ASG_ROLLING_COMMIT%"${ASG_ROLLING_COMMIT#???????}"}"',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return workspace;
}

/** What each instance ended up serving: instance id → the VERSION file of its install. */
export async function installedSites(workspace: DemoWorkspace): Promise<Record<string, string>> {
  const ids = await readdir(workspace.sites).catch(() => [] as string[]);
  const sites: Record<string, string> = {};
  for (const id of ids.sort()) {
    sites[id] = (await readFile(path.join(workspace.sites, id, 'VERSION'), 'utf8').catch(() => '?')).trim();
  }
  return sites;
}

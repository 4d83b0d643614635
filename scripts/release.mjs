// Rewrites the references to this repository's own action and workflows, in the reusable
// workflows and the examples, to one exact release tag. A caller pinning `rolling-deploy.yml@v1.4.0`
// (or that commit's SHA) must get the action of v1.4.0, not whatever `@v1` points to later; the
// release commit carries the exact tag, and the branch keeps it until the next release.
//
//   npm run release -- vX.Y.Z [--root DIR] [--repository OWNER/NAME]
//     vX.Y.Z        the tag about to be created (v, then three whole numbers)
//     --root DIR    the checkout to rewrite (default: the current directory)
//     --repository  this repository's name as the files spell it (default: asg-rolling/asg-rolling)
//
// It only edits files: commit the result, then tag that commit with the same tag.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

const TagFormat = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
/** A ref this script may replace: a major tag (`v1`) or an earlier exact tag (`v1.3.0`). */
const VersionRef = String.raw`v\d+(?:\.\d+\.\d+)?`;

function fail(message) {
  process.stderr.write(`release: ${message}\n`);
  process.exit(2);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { root: { type: 'string' }, repository: { type: 'string' } },
});
if (positionals.length !== 1)
  fail(`give exactly one tag, as in "npm run release -- v1.4.0", got ${positionals.length}`);
const tag = positionals[0];
if (!TagFormat.test(tag)) fail(`the tag must be vMAJOR.MINOR.PATCH (for example v1.4.0), got "${tag}"`);
const root = values.root ?? process.cwd();
const repository = values.repository ?? 'asg-rolling/asg-rolling';
if (!/^[\w.-]+\/[\w.-]+$/.test(repository)) fail(`--repository must be OWNER/NAME, got "${repository}"`);

const escaped = repository.replace(/[.]/g, '\\.');
// `uses: OWNER/NAME@v1`, `uses: OWNER/NAME/setup@v1`, `uses: OWNER/NAME/.github/workflows/x.yml@v1`,
// with or without a list dash or quotes; a trailing comment stays.
const reference = new RegExp(
  String.raw`^(\s*(?:-\s+)?uses:\s*['"]?${escaped}(?:/[\w./-]+)?@)(${VersionRef})(?=['"]?(?:\s|$))`,
  'gm',
);

const yamlFiles = (dir) =>
  readdirSync(join(root, dir))
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => join(root, dir, name));
const files = [
  ...yamlFiles('.github/workflows').filter((path) => /[/\\]rolling-[\w-]+\.ya?ml$/.test(path)),
  ...yamlFiles('examples'),
];

let total = 0;
for (const path of files) {
  const before = readFileSync(path, 'utf8');
  let count = 0;
  const after = before.replace(reference, (_, prefix) => {
    count += 1;
    return `${prefix}${tag}`;
  });
  if (count === 0) continue;
  total += count;
  if (after !== before) writeFileSync(path, after);
  process.stdout.write(`${relative(root, path)}: ${count} reference(s) -> @${tag}\n`);
}
if (total === 0) fail(`found no "uses: ${repository}...@vN" reference under ${root}`);
process.stdout.write(`\nNow commit these files and tag that commit: git tag ${tag}\n`);

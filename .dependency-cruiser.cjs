// The house rules of src/, checked by `npm run lint` (docs/architecture.md explains the layers).
// An import only goes down the list below; folders on the same rung do not import each other;
// there are no cycles; and only src/aws sends AWS SDK commands (type imports may be anywhere).
/** Top to bottom. Folders in one inner list are siblings. */
const layers = [
  ['action'],
  ['commands'],
  ['phases', 'cleanup'],
  ['aws'],
  ['ssh', 'report'],
  ['config'],
  ['lib'],
];

const folders = layers.flat();
const rank = (folder) => layers.findIndex((rung) => rung.includes(folder));
const layerRules = folders.map((folder) => {
  const forbidden = folders.filter((other) => other !== folder && rank(other) <= rank(folder));
  return {
    name: `layer-${folder}`,
    comment: `src/${folder} may import only folders below it: not ${forbidden.join(', ')}`,
    severity: 'error',
    from: { path: `^src/${folder}/` },
    to: { path: `^src/(${forbidden.join('|')})/` },
  };
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-cycles',
      comment: 'A cycle ties modules together so that neither can be understood or tested alone',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'sdk-commands-only-in-aws',
      comment: 'Only src/aws sends AWS SDK commands; elsewhere import SDK types with `import type`',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/aws/' },
      to: { path: '@aws-sdk/client-', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-loose-files',
      comment: 'Every module of src/ lives in its layer folder',
      severity: 'error',
      from: { path: '^src/[^/]+$' },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
  },
};

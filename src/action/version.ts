/** The action's version, from package.json: tagged on what we create and sent in the user agent. */
import pkg from '../../package.json' with { type: 'json' };

export const ActionVersion: string = pkg.version;

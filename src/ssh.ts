/**
 * SSH for the temporary instances: the readiness probe, host key checking, and the deploy
 * (upload + remote script). The pieces live in src/ssh/; this is the one import for phases.
 */
export { createHostKeyVerifier, type HostKeyTarget, type HostKeyVerifier } from './ssh/host-keys.js';
export { waitForSsh, type WaitForSshOptions } from './ssh/probe.js';
export { deployOverSsh, type DeployOverSshOptions } from './ssh/deploy.js';
export { shellQuote } from './ssh/command.js';
export { parseKnownHosts, fingerprint, KnownHostsError } from './ssh/known-hosts.js';

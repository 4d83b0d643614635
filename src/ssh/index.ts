/**
 * SSH for the temporary instances: the readiness probe, host key checking, and the deploy
 * (upload + remote script). The pieces live in src/ssh/; this is the one import for phases.
 */
export { createHostKeyVerifier, type HostKeyTarget, type HostKeyVerifier } from './host-keys.js';
export { waitForSsh, type WaitForSshOptions } from './probe.js';
export { deployOverSsh, type DeployOverSshOptions } from './deploy.js';

/**
 * How a `setup` step hands its instances to a later `finalize` step of the same job.
 * core.saveState is no use here: saved state only reaches the post step of the same action, never
 * a later step. A variable written with core.exportVariable (GITHUB_ENV) is in the environment of
 * every later step of the job, so `setup` exports the JSON below and `finalize` reads it back
 * through readConfig, validated with the same schema on both ends.
 */
import { z } from 'zod';
import { KnownHostsError, parseKnownHosts } from './known-hosts.js';

/** The job environment variable holding the `setup` result as JSON. */
export const SetupResultVariable = 'ASG_ROLLING_SETUP';

/**
 * A temporary instance: launched from a group's template version, deployed to, imaged, terminated.
 * The one shape of it everywhere: setup's hand-off, the pipeline, the `instances` output.
 */
export const temporaryInstanceSchema = z.object({
  instanceId: z.string().regex(/^i-\w+$/, 'an instance id (i-…)'),
  address: z.string(),
  /** The image the groups boot today; the AMI baked from this instance replaces it. */
  sourceImageId: z.string().regex(/^ami-\w+$/, 'an AMI id (ami-…)'),
  /** The groups whose image it becomes. */
  groups: z.array(z.string().min(1)).min(1),
  /**
   * The host key the readiness probe proved the instance holds, as a known_hosts line
   * (`[192.0.2.5]:2222 ssh-ed25519 AAAA…`), so a split-mode deploy tool can check it instead of
   * trusting whatever answers first. Absent only when no key exchange was made.
   */
  hostKey: z
    .string()
    .refine(isHostKeyLine, 'one known_hosts line "host key-type base64-key" without a marker')
    .optional(),
});

export type TemporaryInstance = Readonly<z.infer<typeof temporaryInstanceSchema>>;

function isHostKeyLine(line: string): boolean {
  if (/[\r\n]/.test(line)) return false;
  try {
    const entries = parseKnownHosts([line]);
    return entries.length === 1 && entries[0]?.marker === 'none';
  } catch (error) {
    if (error instanceof KnownHostsError) return false;
    throw error;
  }
}

/** The shape `setup` exports and `finalize` accepts; shared so both ends agree. */
export const setupResultSchema = z.object({
  runId: z.string().min(1),
  region: z.string().min(1),
  images: z.array(temporaryInstanceSchema).min(1),
});

/** The instances of a `setup` step, one per distinct source image. */
export type SetupResult = z.infer<typeof setupResultSchema>;

/** The value `setup` passes to core.exportVariable(SetupResultVariable, …); validated on the way out too. */
export function encodeSetupResult(result: SetupResult): string {
  return JSON.stringify(setupResultSchema.parse(result));
}

/** The `setup` result in the environment, undefined when there is none; problems are reported, not thrown. */
export function readSetupResult(env: NodeJS.ProcessEnv, problems: string[]): SetupResult | undefined {
  const text = env[SetupResultVariable];
  if (!text) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    problems.push(
      `Environment variable ${SetupResultVariable} must hold the JSON a "setup" step exports; it is not JSON.`,
    );
    return undefined;
  }
  const result = setupResultSchema.safeParse(json);
  if (result.success) return result.data;
  const details = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  problems.push(`Environment variable ${SetupResultVariable} is not a valid "setup" result (${details}).`);
  return undefined;
}

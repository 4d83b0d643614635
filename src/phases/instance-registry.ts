/**
 * What the post step needs: the temporary instances to terminate, saved with core.saveState the
 * moment they change, so a cancelled or crashed run still leaves enough behind to clean up. (The
 * `setup` result a later `finalize` reads travels through GITHUB_ENV: see setup-result.ts.)
 */
import { randomBytes } from 'node:crypto';
import { State } from '../lib/constants.js';

/** Where state is saved; core.saveState in the action, a map in tests. */
export type SaveState = (name: string, value: string) => void;

/**
 * The temporary instances of this run. Ids are registered the moment RunInstances returns and the
 * whole list is saved for the post step each time; the signal handler reads the same list.
 */
export class InstanceRegistry {
  private readonly ids: string[] = [];
  private readonly gone = new Set<string>();
  private unanswered = 0;

  /**
   * @param launchToken tagged on every instance this step launches (Tags.LaunchToken); random by
   * default, since the run id is shared by every job of a workflow run.
   */
  constructor(
    private readonly save: SaveState,
    readonly launchToken: string = randomBytes(12).toString('hex'),
  ) {}

  /**
   * Call right before RunInstances; call the returned function once it answered with an id. A
   * launch cut off on the way (cancel, timeout, a lost response) may still create an instance we
   * never hear of: until every launch answered, the token is saved so the post step looks for
   * instances carrying it.
   */
  launching(): () => void {
    this.unanswered += 1;
    this.saveLaunchToken();
    let answered = false;
    return () => {
      if (answered) return;
      answered = true;
      this.unanswered -= 1;
      this.saveLaunchToken();
    };
  }

  /** Records a new instance and saves the list at once. */
  register(instanceId: string): void {
    if (!this.ids.includes(instanceId)) this.ids.push(instanceId);
    this.persist();
  }

  /** Records that an instance was terminated, so nobody tries again. */
  markTerminated(instanceIds: readonly string[]): void {
    for (const id of instanceIds) this.gone.add(id);
    this.persist();
  }

  /** Instances that may still be running. */
  pending(): string[] {
    return this.ids.filter((id) => !this.gone.has(id));
  }

  private persist(): void {
    this.save(State.TemporaryInstances, JSON.stringify(this.pending()));
  }

  private saveLaunchToken(): void {
    this.save(State.LaunchToken, this.unanswered > 0 ? this.launchToken : '');
  }
}

/** Reads the saved instance list defensively: the post step must never fail on bad state. */
export function parseInstanceIds(text: string): string[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value)
      ? value.filter((id): id is string => typeof id === 'string' && id.startsWith('i-'))
      : [];
  } catch {
    return [];
  }
}

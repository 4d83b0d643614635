import { runEntry } from './entry.js';
import { run } from './post-run.js';

await runEntry(run);

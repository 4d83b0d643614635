import { runEntry } from './entry.js';
import { run } from './main.js';

await runEntry(run);

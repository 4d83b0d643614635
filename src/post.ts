import { run } from './post-run.js';

await run();

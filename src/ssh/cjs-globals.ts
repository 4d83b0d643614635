/**
 * Imported for its side effect, before node-ssh. ssh2's Poly1305 (an Emscripten build, used for
 * the chacha20-poly1305 cipher OpenSSH prefers) reads the CommonJS `__dirname` when it loads. In
 * our ESM bundle (dist/) there is no such variable and loading ssh2 fails with a ReferenceError,
 * so give it one. Its value is not used for anything: the WebAssembly is inlined.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const scope = globalThis as { __dirname?: string };
scope.__dirname ??= path.dirname(fileURLToPath(import.meta.url));

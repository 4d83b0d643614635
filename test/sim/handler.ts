import type { World } from './world.js';

/** An action's implementation: SDK-shaped input in, SDK-shaped output out (undefined = no output). */
export type Handler = (input: Record<string, unknown>, world: World) => object | undefined;

/** Lets each handler declare the SDK's own input/output types for its action. */
export const op = <I, O extends object | void>(fn: (input: I, world: World) => O): Handler =>
  fn as unknown as Handler;

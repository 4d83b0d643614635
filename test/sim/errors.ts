// An error the simulator answers with, in the calling protocol's own XML error shape.
// `status` follows what AWS sends: 400 for client errors, 5xx for server faults, 503 for EC2 throttling.
export class SimError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export const notFound = (code: string, what: string): SimError =>
  new SimError(code, `${what} does not exist`);

export const validation = (message: string): SimError => new SimError('ValidationError', message);

export const invalidParam = (message: string): SimError => new SimError('InvalidParameterValue', message);

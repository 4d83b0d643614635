/**
 * The message of anything thrown, Error or not, for logs and annotations. An AWS service error
 * leads with its code (`InsufficientInstanceCapacity: …`), since AWS's messages often leave it out
 * and the code is what people search for and what IAM or quota fixes are keyed by.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const code = isServiceError(error) ? awsErrorCode(error) : undefined;
    const message =
      code && code !== 'Error' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
    return code && ExpiredTokenCodes.has(code) ? `${message} ${ExpiredTokenHint}` : message;
  }
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

/**
 * The codes AWS answers with once the session's credentials have expired. The session cannot be
 * renewed during the step, so the fix is a longer one: the hint says which setting that is.
 */
export const ExpiredTokenCodes: ReadonlySet<string> = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
]);

export const ExpiredTokenHint =
  '(The AWS credentials expired during the run: raise "role-duration-seconds" of the reusable workflow ' +
  "or of aws-actions/configure-aws-credentials to cover the whole run, within the IAM role's MaxSessionDuration.)";

/** Wraps an error with what was being attempted, keeping the original as `cause`. */
export function wrapError(doing: string, error: unknown): Error {
  return new Error(`${doing}: ${errorMessage(error)}`, { cause: error });
}

/** Errors the SDK builds from an AWS response carry the response's `$metadata`. */
function isServiceError(error: Error): boolean {
  return '$metadata' in error;
}

/** An error thrown by the SDK carries the AWS error code in `name`. */
export function awsErrorCode(error: unknown): string | undefined {
  if (error && typeof error === 'object') {
    const e = error as { name?: unknown; Code?: unknown };
    if (typeof e.Code === 'string') return e.Code;
    if (typeof e.name === 'string') return e.name;
  }
  return undefined;
}

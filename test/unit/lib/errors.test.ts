import { EC2ServiceException } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { errorMessage, wrapError } from '../../../src/lib/errors.js';

/** An error as the SDK builds it from an AWS error response. */
const awsError = (name: string, message: string): Error =>
  new EC2ServiceException({ name, message, $fault: 'server', $metadata: { httpStatusCode: 500 } });

describe('errorMessage', () => {
  it("leads an AWS error's message with its code", () => {
    const error = awsError('InsufficientInstanceCapacity', 'We currently do not have sufficient capacity');
    expect(errorMessage(error)).toBe(
      'InsufficientInstanceCapacity: We currently do not have sufficient capacity',
    );
    expect(errorMessage(wrapError('Could not launch', error))).toBe(
      'Could not launch: InsufficientInstanceCapacity: We currently do not have sufficient capacity',
    );
  });

  it('does not repeat a code the message already names', () => {
    expect(
      errorMessage(awsError('InvalidAMIID.NotFound', "The image id '[ami-1]' (InvalidAMIID.NotFound)")),
    ).toBe("The image id '[ami-1]' (InvalidAMIID.NotFound)");
  });

  it('leaves errors that are not from AWS as they are', () => {
    expect(errorMessage(Object.assign(new Error('boom'), { name: 'TypeError' }))).toBe('boom');
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage({ a: 1 })).toBe('{"a":1}');
  });
});

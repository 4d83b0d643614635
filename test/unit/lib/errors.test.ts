import { EC2ServiceException } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { errorMessage, ExpiredTokenHint, wrapError } from '../../../src/lib/errors.js';

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

  it.each(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired'])(
    'maps %s to a message naming role-duration-seconds, once however deep it is wrapped',
    (code) => {
      const message = errorMessage(
        wrapError(
          'Could not describe the groups',
          awsError(code, 'The security token included in the request is expired'),
        ),
      );
      expect(message).toBe(
        `Could not describe the groups: ${code}: The security token included in the request is expired ${ExpiredTokenHint}`,
      );
      expect(message).toContain('"role-duration-seconds"');
      expect(message.split('role-duration-seconds')).toHaveLength(2);
    },
  );

  it('adds no hint to other errors, nor to a plain error that only mentions a code', () => {
    expect(errorMessage(awsError('Throttling', 'Rate exceeded'))).toBe('Throttling: Rate exceeded');
    expect(errorMessage(new Error('ExpiredToken seen earlier'))).toBe('ExpiredToken seen earlier');
  });

  it('leaves errors that are not from AWS as they are', () => {
    expect(errorMessage(Object.assign(new Error('boom'), { name: 'TypeError' }))).toBe('boom');
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage({ a: 1 })).toBe('{"a":1}');
  });
});

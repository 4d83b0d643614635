import { describe, expect, it } from 'vitest';
import {
  isOurVersionDescription,
  revertVersionDescription,
  versionDescription,
} from '../../../src/aws/tags.js';

describe('our launch template version descriptions', () => {
  it.each([
    [versionDescription('123-1', 'abc1234'), true],
    [versionDescription('123-1', ''), true],
    [revertVersionDescription('123-1'), true],
    ['asg-rolling-manual', false],
    ['asg-rolling run 123-1', false],
    ['asg-rolling run 123-1 commit abc extra', false],
    ['my asg-rolling run 1 commit abc', false],
    ['', false],
  ])('%j is ours: %s', (description, ours) => {
    expect(isOurVersionDescription(description)).toBe(ours);
  });
});

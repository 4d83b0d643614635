/** Orchestration only: config -> plan -> phases -> report. */
import * as core from '@actions/core';
import { errorMessage } from './errors.js';

export async function run(): Promise<void> {
  try {
    throw new Error('not implemented yet');
  } catch (error) {
    core.setFailed(errorMessage(error));
    process.exitCode = 1;
  }
}

/**
 * Turns a stream of output chunks into whole lines, so each line of the remote script becomes one
 * log line (with the group prefix) however the bytes were split on the wire.
 */
import { StringDecoder } from 'node:string_decoder';

/** Splits chunks into lines; a multi-byte character cut between two chunks stays whole. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    this.pending += this.decoder.write(chunk);
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) this.onLine(line.replace(/\r$/, ''));
  }

  /** Emits what is left after the stream ended without a final newline. */
  flush(): void {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    if (rest !== '') this.onLine(rest.replace(/\r$/, ''));
  }
}

/** Keeps the last `size` lines, for the error message of a failed script. */
export class Tail {
  private readonly lines: string[] = [];

  constructor(private readonly size: number) {}

  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.size) this.lines.shift();
  }

  text(): string {
    return this.lines.join('\n');
  }
}

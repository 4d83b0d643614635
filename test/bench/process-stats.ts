/**
 * What a child process cost, read from Linux's /proc while it runs: peak resident set (VmHWM in
 * /proc/<pid>/status, which only grows) and CPU time (utime + stime in /proc/<pid>/stat). Both only
 * grow, so the last sample before exit is the answer, short of one sampling interval at the very end.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcessStats {
  /** Peak resident set, KiB (0 when never read). */
  readonly peakRssKiB: number;
  /** User + system CPU, ms. */
  readonly cpuMs: number;
}

let ticks: number | undefined;
/** Clock ticks per second of /proc/<pid>/stat times (100 on almost every Linux). */
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** VmHWM in KiB from a /proc/<pid>/status text. */
export function parsePeakRss(status: string): number | undefined {
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) : undefined;
}

/** utime + stime in ticks from a /proc/<pid>/stat line (the command name may contain spaces). */
export function parseCpuTicks(stat: string): number | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : undefined;
}

/** Samples the process every `intervalMs` until stop(), which returns the last (= highest) values. */
export function sampleProcess(pid: number | undefined, intervalMs = 20): { stop(): ProcessStats } {
  let peakRssKiB = 0;
  let cpuTicks = 0;
  const sample = (): void => {
    if (pid === undefined) return;
    try {
      peakRssKiB = Math.max(peakRssKiB, parsePeakRss(readFileSync(`/proc/${pid}/status`, 'utf8')) ?? 0);
      cpuTicks = Math.max(cpuTicks, parseCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) ?? 0);
    } catch {
      // Gone already: keep the last sample.
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      return { peakRssKiB, cpuMs: (cpuTicks * 1000) / clockTicks() };
    },
  };
}

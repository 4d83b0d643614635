/**
 * What one acceptance run costs, printed before anything is created. On-demand us-east-1 prices
 * (other regions differ by a few tens of percent); the run keeps at most three t4g.nano instances
 * (the group's, the temporary one, the refresh's replacement) and their 8 GiB gp3 volumes for about
 * half an hour, and one AMI snapshot until the teardown.
 */
export const Prices = {
  t4gNanoPerHour: 0.0042,
  gp3PerGiBMonth: 0.08,
  snapshotPerGiBMonth: 0.05,
} as const;

export interface CostAssumptions {
  readonly instances: number;
  readonly hours: number;
  readonly volumeGiB: number;
}

export const RunAssumptions: CostAssumptions = { instances: 3, hours: 0.5, volumeGiB: 8 };

const HoursPerMonth = 730;

/** The estimate in US dollars: instances, their volumes and one snapshot, for the run's duration. */
export function estimateCost(a: CostAssumptions = RunAssumptions): number {
  const compute = a.instances * a.hours * Prices.t4gNanoPerHour;
  const volumes = (a.instances * a.volumeGiB * a.hours * Prices.gp3PerGiBMonth) / HoursPerMonth;
  const snapshot = (a.volumeGiB * a.hours * Prices.snapshotPerGiBMonth) / HoursPerMonth;
  return compute + volumes + snapshot;
}

export function costNotice(a: CostAssumptions = RunAssumptions): string {
  return (
    `Estimated cost: about $${estimateCost(a).toFixed(3)} (${a.instances} × t4g.nano with ${a.volumeGiB} GiB gp3 ` +
    `for ~${a.hours * 60} min, one AMI snapshot until teardown; us-east-1 on-demand prices). ` +
    'Everything created is tagged with the run id and deleted at the end, also on failure.'
  );
}

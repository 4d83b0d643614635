// EC2/Auto Scaling style filters (Name + Values, OR within a filter, AND across filters, `*`/`?`
// wildcards, tag:Key / tag-key / tag-value) and opaque NextToken pagination.
import { SimError } from './errors.js';
import { globMatch } from './faults.js';

export interface Filter {
  Name?: string;
  Values?: string[];
}

export interface Tagged {
  Key?: string;
  Value?: string;
}

type Field<T> = (item: T) => string | number | boolean | undefined | (string | undefined)[];

export interface FilterSpec<T> {
  fields: Record<string, Field<T>>;
  tags: (item: T) => Tagged[] | undefined;
  /** Error for an unknown filter name. */
  invalid: (name: string) => SimError;
}

function values<T>(spec: FilterSpec<T>, name: string, item: T): string[] {
  const tags = spec.tags(item) ?? [];
  if (name.startsWith('tag:')) {
    const key = name.slice(4);
    return tags.filter((t) => t.Key === key).map((t) => t.Value ?? '');
  }
  if (name === 'tag-key') return tags.map((t) => t.Key ?? '');
  if (name === 'tag-value') return tags.map((t) => t.Value ?? '');
  const field = spec.fields[name];
  if (!field) throw spec.invalid(name);
  const v = field(item);
  return [v]
    .flat()
    .filter((x) => x !== undefined)
    .map(String);
}

export function applyFilters<T>(items: Iterable<T>, filters: Filter[] | undefined, spec: FilterSpec<T>): T[] {
  const active = (filters ?? []).filter((f) => f.Name);
  for (const f of active) {
    const name = f.Name ?? '';
    if (!name.startsWith('tag:') && name !== 'tag-key' && name !== 'tag-value' && !spec.fields[name]) {
      throw spec.invalid(name);
    }
  }
  const out: T[] = [];
  for (const item of items) {
    const ok = active.every((f) => {
      const have = values(spec, f.Name ?? '', item);
      return (f.Values ?? []).some((want) =>
        have.some((h) => (want.includes('*') || want.includes('?') ? globMatch(want, h) : h === want)),
      );
    });
    if (ok) out.push(item);
  }
  return out;
}

const encodeToken = (offset: number): string =>
  Buffer.from(JSON.stringify({ o: offset })).toString('base64url');

function decodeToken(token: string, code: string): number {
  try {
    const { o } = JSON.parse(Buffer.from(token, 'base64url').toString()) as { o: unknown };
    if (typeof o === 'number' && Number.isInteger(o) && o >= 0) return o;
  } catch {
    // fall through to the error below
  }
  throw new SimError(code, `The token '${token}' is invalid.`);
}

/** One page of items from NextToken; `next` is set while items remain. */
export function paginate<T>(
  items: T[],
  opts: { token?: string; max: number; invalidTokenCode: string },
): { page: T[]; next?: string } {
  const start = opts.token ? decodeToken(opts.token, opts.invalidTokenCode) : 0;
  const end = start + opts.max;
  return { page: items.slice(start, end), next: end < items.length ? encodeToken(end) : undefined };
}

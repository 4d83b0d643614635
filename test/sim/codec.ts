// Wire codec driven by the SDK's own service model. The AWS SDK v3 clients ship the Smithy schema of
// every operation (exported as `<Operation>$`); walking it gives us the exact query-parameter names
// the client sends (ec2QueryName / xmlName, flattened lists, `member` wrappers) and the exact XML
// element names it reads back (lowerCamel `xmlName` with `item` lists for EC2, `member` lists for Auto
// Scaling). Hand-written element names would drift from the SDK; the model cannot.
import * as autoscaling from '@aws-sdk/client-auto-scaling';
import * as ec2 from '@aws-sdk/client-ec2';
import { NormalizedSchema } from '@smithy/core/schema';

export type Service = 'ec2' | 'autoscaling';

/** Every service the simulator answers: the two Query ones, and EC2 Instance Connect (JSON 1.1 and the
 *  endpoint's tunnel), which the codec does not handle. The name is the IAM prefix of its actions. */
export type ServiceName = Service | 'ec2-instance-connect';

type OperationSchema = [9, string, string, unknown, unknown, unknown];

const modules: Record<Service, Record<string, unknown>> = { ec2, autoscaling };

/** The operation's [input, output] schemas, or undefined when the service has no such action. */
export function operationSchemas(
  service: Service,
  action: string,
): { input: unknown; output: unknown } | undefined {
  if (!/^[A-Z][A-Za-z0-9]+$/.test(action)) return undefined;
  const op = modules[service][`${action}$`];
  if (!Array.isArray(op) || op[0] !== 9 || op[2] !== action) return undefined;
  const [, , , , input, output] = op as OperationSchema;
  return { input, output };
}

interface Node {
  value?: string;
  children: Map<string, Node>;
}

function tree(params: URLSearchParams): Node {
  const root: Node = { children: new Map() };
  for (const [key, value] of params) {
    let node = root;
    for (const part of key.split('.')) {
      let child = node.children.get(part);
      if (!child) node.children.set(part, (child = { children: new Map() }));
      node = child;
    }
    node.value = value;
  }
  return root;
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function queryKey(service: Service, name: string, ns: NormalizedSchema): string {
  const traits = ns.getMergedTraits();
  if (service === 'ec2')
    return (traits.ec2QueryName as string | undefined) ?? capitalize((traits.xmlName as string) ?? name);
  return (traits.xmlName as string | undefined) ?? name;
}

function numbered(node: Node): Node[] {
  return [...node.children.entries()]
    .filter(([k]) => /^\d+$/.test(k))
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, n]) => n);
}

function decodeNode(service: Service, ns: NormalizedSchema, node: Node): unknown {
  if (ns.isStructSchema()) {
    const out: Record<string, unknown> = {};
    for (const [name, member] of ns.structIterator()) {
      const child = node.children.get(queryKey(service, name, member));
      if (child) out[name] = decodeNode(service, member, child);
    }
    return out;
  }
  if (ns.isListSchema()) {
    const itemNs = ns.getValueSchema();
    const flat = service === 'ec2' || !!ns.getMergedTraits().xmlFlattened;
    const holder = flat ? node : node.children.get((itemNs.getMergedTraits().xmlName as string) ?? 'member');
    return holder ? numbered(holder).map((n) => decodeNode(service, itemNs, n)) : [];
  }
  if (ns.isMapSchema()) {
    const out: Record<string, unknown> = {};
    const holder = ns.getMergedTraits().xmlFlattened ? node : node.children.get('entry');
    for (const entry of holder ? numbered(holder) : []) {
      const key = entry.children.get('key')?.value;
      const value = entry.children.get('value');
      if (key !== undefined && value) out[key] = decodeNode(service, ns.getValueSchema(), value);
    }
    return out;
  }
  const raw = node.value ?? '';
  if (ns.isBooleanSchema()) return raw === 'true';
  if (ns.isNumericSchema()) return Number(raw);
  if (ns.isTimestampSchema()) return new Date(raw);
  return raw;
}

/** Query parameters (Action=...&Foo.1=...) to the SDK-shaped input object of the operation. */
export function decodeInput(
  service: Service,
  inputSchema: unknown,
  params: URLSearchParams,
): Record<string, unknown> {
  const ns = NormalizedSchema.of(inputSchema as never);
  if (ns.isUnitSchema()) return {};
  return decodeNode(service, ns, tree(params)) as Record<string, unknown>;
}

// XML 1.0 cannot carry most C0 control characters, even escaped: drop them.
const forbidden = new RegExp(
  '[' +
    String.fromCharCode(0) +
    '-' +
    String.fromCharCode(8) +
    String.fromCharCode(11, 12) +
    String.fromCharCode(14) +
    '-' +
    String.fromCharCode(31) +
    ']',
  'g',
);

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(forbidden, '');
}

function scalar(ns: NormalizedSchema, value: unknown): string {
  if (ns.isTimestampSchema()) {
    const d = value instanceof Date ? value : new Date(String(value));
    return d.toISOString();
  }
  return escapeXml(String(value));
}

function encodeValue(ns: NormalizedSchema, value: unknown, element: string): string {
  if (value === undefined || value === null) return '';
  if (ns.isListSchema()) {
    if (!Array.isArray(value)) return '';
    const itemNs = ns.getValueSchema();
    if (ns.getMergedTraits().xmlFlattened) return value.map((v) => encodeValue(itemNs, v, element)).join('');
    const itemName = (itemNs.getMergedTraits().xmlName as string) ?? 'member';
    return `<${element}>${value.map((v) => encodeValue(itemNs, v, itemName)).join('')}</${element}>`;
  }
  if (ns.isMapSchema()) {
    const entries = Object.entries(value as Record<string, unknown>)
      .map(
        ([k, v]) =>
          `<entry><key>${escapeXml(k)}</key>${encodeValue(ns.getValueSchema(), v, 'value')}</entry>`,
      )
      .join('');
    return `<${element}>${entries}</${element}>`;
  }
  if (ns.isStructSchema())
    return `<${element}>${encodeMembers(ns, value as Record<string, unknown>)}</${element}>`;
  return `<${element}>${scalar(ns, value)}</${element}>`;
}

function encodeMembers(ns: NormalizedSchema, value: Record<string, unknown>): string {
  let xml = '';
  for (const [name, member] of ns.structIterator()) {
    const element = (member.getMemberTraits().xmlName as string | undefined) ?? name;
    xml += encodeValue(member, value[name], element);
  }
  return xml;
}

/**
 * The members of an SDK-shaped output object as XML, using the model's element names. Members the model
 * does not know are dropped, as AWS would never send them. Returns undefined for operations with no
 * output structure (Auto Scaling then sends no <XResult> element).
 */
export function encodeOutput(outputSchema: unknown, value: Record<string, unknown>): string | undefined {
  const ns = NormalizedSchema.of(outputSchema as never);
  if (ns.isUnitSchema() || !ns.isStructSchema()) return undefined;
  return encodeMembers(ns, value);
}

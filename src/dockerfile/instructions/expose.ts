/** EXPOSE words → image config port keys ("80/tcp"), as docker/go-connections nat.ParsePortSpecs. */
import { InstructionSyntaxError } from './errors.ts';

const PROTOCOLS = ['tcp', 'udp', 'sctp'];

/** Validates and expands `80`, `80/udp`, `8000-8002/tcp`, `127.0.0.1:80:80`; sorted, unique. */
export function exposedPortKeys(words: readonly string[]): string[] {
  const keys = new Set<string>();
  for (const word of words) for (const key of portKeys(word)) keys.add(key);
  return [...keys].sort();
}

function portKeys(spec: string): string[] {
  const slash = spec.lastIndexOf('/');
  const hasProto = slash >= 0;
  const proto = hasProto ? spec.slice(slash + 1).toLowerCase() : 'tcp';
  const address = hasProto ? spec.slice(0, slash) : spec;
  if (hasProto && !PROTOCOLS.includes(proto)) throw new InstructionSyntaxError(`invalid proto: ${spec.slice(slash + 1)}`);
  const parts = splitAddress(address);
  const containerPort = parts[parts.length - 1];
  if (parts.length === 3 && parts[0] !== '' && !isIpAddress(parts[0])) {
    throw new InstructionSyntaxError(`invalid IP address: ${parts[0]}`);
  }
  if (containerPort === '') throw new InstructionSyntaxError(`no port specified: ${spec}<empty>`);
  const range = parsePortRange(containerPort);
  if (range === undefined) throw new InstructionSyntaxError(`invalid containerPort: ${containerPort}`);
  const keys: string[] = [];
  for (let port = range[0]; port <= range[1]; port++) keys.push(`${port}/${proto}`);
  return keys;
}

/** ip:hostPort:containerPort, hostPort:containerPort or containerPort; `[v6]` addresses allowed. */
function splitAddress(address: string): string[] {
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    if (end > 0) return [address.slice(1, end), ...address.slice(end + 2).split(':')];
  }
  const parts = address.split(':');
  if (parts.length > 3) throw new InstructionSyntaxError(`invalid port specification: ${JSON.stringify(address)}`);
  return parts;
}

function parsePortRange(text: string): [number, number] | undefined {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = match[2] === undefined ? start : Number(match[2]);
  if (start > 65535 || end > 65535) return undefined;
  if (end < start) throw new InstructionSyntaxError(`invalid range specified for container port: ${text}`);
  return [start, end];
}

function isIpAddress(text: string): boolean {
  if (/^(\d{1,3})(\.\d{1,3}){3}$/.test(text)) return text.split('.').every((octet) => Number(octet) <= 255);
  return /^[0-9a-fA-F:]+$/.test(text) && text.includes(':');
}

import { isIPv6 } from 'node:net';

/** IPv6 counted per /64 (a caller usually holds one); IPv4-mapped IPv6 counts as the IPv4 address. */
export function clientAddress(ip: string): string {
  if (ip.startsWith('::ffff:') && ip.includes('.')) return ip.slice(7);
  if (!isIPv6(ip)) return ip;
  return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
}

function expandIPv6(ip: string): string[] {
  const halves = (ip.split('%')[0] ?? '').split('::');
  const head = halves[0] ?? '';
  const tail = halves[1];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros =
    tail === undefined ? [] : Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...zeros, ...right].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}

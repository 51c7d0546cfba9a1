import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canListen, ephemeralPortRange, freePort } from './ports.js';

describe('service ports', () => {
  test('the ephemeral range is read from the kernel, and falls back to IANA’s where it cannot be', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ports-'));
    const file = join(dir, 'range');
    writeFileSync(file, '32768\t60999\n');
    expect(ephemeralPortRange(file)).toEqual([32768, 60999]);
    writeFileSync(file, 'garbage');
    expect(ephemeralPortRange(file)).toEqual([49152, 65535]);
    expect(ephemeralPortRange(join(dir, 'missing'))).toEqual([49152, 65535]);
  });

  test('ports lie outside the ephemeral range, where no outgoing connection can take them, and are distinct and listenable', async () => {
    const [low, high] = ephemeralPortRange();
    const ports: number[] = [];
    for (let i = 0; i < 30; i += 1) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) {
      expect(port >= 10_000 && (port < low || port > high)).toBe(true);
      expect(await canListen(port)).toBe(true);
    }
  });

  test('a port something listens on is not free', async () => {
    const server = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      expect(await canListen(port)).toBe(false);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(await canListen(port)).toBe(true);
  });
});

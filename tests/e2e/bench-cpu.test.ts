// The bench's CPU accounting (scripts/bench/cpu.ts) finds the platform's services among the
// machine's processes. Node 22 and later name their main thread, and so the process, `MainThread`
// instead of `node`; a bench run on such a Node must still charge each service its own CPU.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpuSnapshot } from '../../scripts/bench/cpu';

// Names itself (a process may rename only itself), says so, then keeps a core busy.
const FAKE_SERVICE = `require('node:fs').writeFileSync('/proc/self/comm', process.argv[1]);
process.stdout.write('named\\n');
const end = Date.now() + 60_000;
while (Date.now() < end) {}`;

/** A busy child of this process, named `name`, whose command line names the gateway's entry, as a service's does. */
async function startFakeGateway(name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', FAKE_SERVICE, name, 'gateway/dist/main.js'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the fake service exited (${code})`)));
  });
  return child;
}

async function untilCpu(pid: number, group: string): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const ms = cpuSnapshot(true).get(`${group}\t${pid}`) ?? 0;
    if (ms > 0) return ms;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return 0;
}

describe('cpuSnapshot', () => {
  const children: ChildProcess[] = [];
  afterAll(() => children.forEach((child) => child.kill('SIGKILL')));

  test.each(['node', 'MainThread'])('charges a service process named %s to its service', async (name) => {
    const child = await startFakeGateway(name);
    children.push(child);
    const pid = child.pid as number;
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe(name);
    expect(await untilCpu(pid, 'gateway')).toBeGreaterThan(0);
  });

  test('leaves out a process that is neither Node nor a known server', async () => {
    const child = await startFakeGateway('something-else');
    children.push(child);
    const pid = child.pid as number;
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('something-else');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const keys = [...cpuSnapshot(true).keys()].filter((key) => key.endsWith(`\t${pid}`));
    expect(keys).toEqual([]);
  });
});

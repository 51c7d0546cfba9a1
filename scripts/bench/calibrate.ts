// Yardsticks of the machine, measured at the start of every run so that runs on different
// machines of the same kind can be compared (BENCHMARKS.md, "The machine"): a plain CPU loop in
// Node, and the CPU that one loopback TCP round trip between two Node processes costs. The second
// is what a message between the platform's processes costs before any of them does any work; on
// the VMs measured it varied more between machines than the first.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

export interface Calibration {
  /** Wall ms of a plain loop of LOOP_ITERATIONS iterations. */
  readonly loopMs: number;
  /** CPU µs per round trip, both processes together. */
  readonly roundTripCpuUs: number;
  /** Wall µs per round trip. */
  readonly roundTripWallUs: number;
}

export const LOOP_ITERATIONS = 300_000_000;
export const ROUND_TRIPS = 20_000;
const WARM_UP_ROUND_TRIPS = 2_000;
const CLOCK_TICKS_PER_SECOND = 100;

// An echo server in a second Node process: it prints its port, then returns every byte it gets.
const ECHO_SERVER = `const server = require('node:net').createServer((socket) => { socket.setNoDelay(true); socket.on('data', (data) => socket.write(data)); });
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));`;

function cpuLoopMs(): number {
  const started = process.hrtime.bigint();
  let sink = 0;
  for (let index = 0; index < LOOP_ITERATIONS; index += 1) sink += index & 1;
  if (sink < 0) throw new Error('unreachable');
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** utime + stime of a process, in ms (clock-tick resolution). */
function processCpuMs(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Sends one byte and waits for it, `count` times in a row. */
function pingPong(socket: Socket, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const onData = () => {
      done += 1;
      if (done < count) socket.write('x');
      else {
        socket.off('data', onData);
        socket.off('error', reject);
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write('x');
  });
}

export async function calibrate(): Promise<Calibration> {
  const loopMs = cpuLoopMs();
  const echo = spawn(process.execPath, ['-e', ECHO_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      echo.once('error', reject);
      echo.once('exit', (code) => reject(new Error(`the echo server exited (${code})`)));
      echo.stdout.once('data', (data: Buffer) => resolve(Number(String(data).trim())));
    });
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.setNoDelay(true);
    try {
      await pingPong(socket, WARM_UP_ROUND_TRIPS);
      const pid = echo.pid as number;
      const echoBefore = processCpuMs(pid);
      const selfBefore = process.cpuUsage();
      const started = process.hrtime.bigint();
      await pingPong(socket, ROUND_TRIPS);
      const wallUs = Number(process.hrtime.bigint() - started) / 1e3;
      const self = process.cpuUsage(selfBefore);
      const echoMs = processCpuMs(pid) - echoBefore;
      return {
        loopMs,
        roundTripCpuUs: (self.user + self.system + echoMs * 1000) / ROUND_TRIPS,
        roundTripWallUs: wallUs / ROUND_TRIPS,
      };
    } finally {
      socket.destroy();
    }
  } finally {
    echo.kill();
  }
}

export function describeCalibration(calibration: Calibration): string {
  return `a plain loop of ${LOOP_ITERATIONS / 1e8}·10⁸ iterations in Node ${calibration.loopMs.toFixed(0)} ms; a loopback TCP round trip between two Node processes ${calibration.roundTripCpuUs.toFixed(0)} µs of CPU (both sides; ${calibration.roundTripWallUs.toFixed(0)} µs wall, ${ROUND_TRIPS.toLocaleString('en-US')} in a row)`;
}

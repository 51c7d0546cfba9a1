// Preloaded into every service with NODE_OPTIONS="--require .../cpu-profiler.cjs" when the
// benchmark runs with --profile (Node 20 refuses --cpu-prof in NODE_OPTIONS). Profiles the whole
// process life with the inspector and writes CPU.<time>.<pid>.0.001.cpuprofile into
// BENCH_CPU_PROF_DIR on exit (the inspector session is in-thread, so post() answers synchronously).
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload for NODE_OPTIONS=--require */
const inspector = require('node:inspector');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const directory = process.env.BENCH_CPU_PROF_DIR;
if (directory) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_CPU_PROF_INTERVAL_US || 1000) });
  session.post('Profiler.start');
  let written = false;
  process.on('exit', () => {
    if (written) return;
    written = true;
    session.post('Profiler.stop', (error, result) => {
      if (error || !result) return;
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '.').slice(0, 15);
      writeFileSync(join(directory, `CPU.${stamp}.${process.pid}.0.001.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

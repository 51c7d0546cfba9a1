#!/usr/bin/env node
// npm run <tool> -- <args>: runs scripts/tools/<tool>.ts through tsx (no build step), forwarding
// the arguments, the environment, signals and the exit code. Shared by dlq, audit, reconcile.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [name, ...args] = process.argv.slice(2);
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error('usage: node scripts/run-tool.mjs <tool> [args...]   (runs scripts/tools/<tool>.ts)');
  process.exit(2);
}
const file = join(root, 'scripts', 'tools', `${name}.ts`);
if (!existsSync(file)) {
  console.error(`run-tool: no such tool: ${file}`);
  process.exit(2);
}

// tsx's loader by absolute URL, so the tool runs the same from any working directory; the
// clearhouse-source condition resolves @clearhouse/* workspace imports to their TypeScript.
const tsxLoader = import.meta.resolve('tsx');
const child = spawn(process.execPath, ['--conditions=clearhouse-source', '--import', tsxLoader, file, ...args], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

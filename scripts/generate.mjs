#!/usr/bin/env node
// Generates the Prisma clients of every subgraph (prisma/<name>/schema.prisma).
// Prisma's CLI downloads a native schema engine on first use; `generate` never calls it, so
// where no engine is installed (offline machines) we point PRISMA_SCHEMA_ENGINE_BINARY at a
// placeholder that fails loudly if anything ever does call it. Machines with a real engine
// keep Prisma's ordinary path.
import { existsSync, readdirSync, chmodSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

function realEngineInstalled() {
  if (process.env.PRISMA_SCHEMA_ENGINE_BINARY) return true;
  try {
    const enginesDir = dirname(require.resolve('@prisma/engines/package.json'));
    return readdirSync(enginesDir).some((f) => f.startsWith('schema-engine'));
  } catch {
    return false;
  }
}

const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
if (!realEngineInstalled()) {
  const placeholder = join(root, 'scripts', 'schema-engine-placeholder.sh');
  chmodSync(placeholder, 0o755);
  env.PRISMA_SCHEMA_ENGINE_BINARY = placeholder;
}

const prismaDir = join(root, 'prisma');
const names = existsSync(prismaDir)
  ? readdirSync(prismaDir).filter((n) => existsSync(join(prismaDir, n, 'schema.prisma'))).sort()
  : [];
let prismaCli;
try {
  prismaCli = require.resolve('prisma/build/index.js');
} catch {
  console.log('generate: prisma CLI not installed yet; skipping');
  process.exit(0);
}
for (const name of names) {
  const schema = join(prismaDir, name, 'schema.prisma');
  const result = spawnSync(process.execPath, [prismaCli, 'generate', '--schema', schema], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    process.stderr.write(result.stdout + result.stderr);
    console.error(`generate: prisma generate failed for ${name}`);
    process.exit(1);
  }
  console.log(`generate: prisma client for ${name} generated`);
}

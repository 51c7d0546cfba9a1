// The README documents every environment variable a service reads (each service's env.ts is
// its only reader of process.env, so scanning those files finds them all).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/platform';

function envFiles(): string[] {
  const files = [join(REPO_ROOT, 'gateway/src/env.ts'), join(REPO_ROOT, 'psp-simulator/src/env.ts'), join(REPO_ROOT, 'shared/src/config/common.ts')];
  for (const name of readdirSync(join(REPO_ROOT, 'subgraphs'))) {
    const src = join(REPO_ROOT, 'subgraphs', name, 'src');
    files.push(join(src, 'env.ts'));
    // Parts of a service may contribute a zod shape of their own (e.g. reconciliation/env-shape.ts).
    for (const entry of readdirSync(src, { recursive: true }) as string[]) if (entry.endsWith('env-shape.ts')) files.push(join(src, entry));
  }
  return files.filter((file) => existsSync(file));
}

test('README.md lists every environment variable the services read', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const missing: string[] = [];
  for (const file of envFiles()) {
    for (const match of readFileSync(file, 'utf8').matchAll(/^\s+([A-Z][A-Z0-9_]{2,}):/gm)) {
      const name = match[1]!;
      if (!readme.includes(`\`${name}\``)) missing.push(`${name} (${file.replace(REPO_ROOT + '/', '')})`);
    }
  }
  expect(missing).toEqual([]);
});

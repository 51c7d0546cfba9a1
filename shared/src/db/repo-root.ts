// Locates the monorepo at run time: the compiled code runs from <workspace>/dist/..., the
// sources from <workspace>/src/..., tests from anywhere below the root.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const DIRECTORY_LEVELS_MAX = 30;

function isRepoRoot(directory: string): boolean {
  const packageJsonPath = join(directory, 'package.json');
  if (!existsSync(packageJsonPath) || !existsSync(join(directory, 'prisma'))) return false;
  try {
    const packageJson = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { workspaces?: unknown };
    return Array.isArray(packageJson.workspaces);
  } catch {
    return false;
  }
}

/** The folder holding the root package.json (with workspaces) and prisma/. */
export function findRepoRoot(startDirectory: string = __dirname): string {
  let directory = startDirectory;
  for (let level = 0; level < DIRECTORY_LEVELS_MAX; level++) {
    if (isRepoRoot(directory)) return directory;
    const parent = dirname(directory);
    if (parent === directory) break;
    directory = parent;
  }
  throw new Error(`no Clearhouse repository root (package.json with workspaces and prisma/) above ${startDirectory}`);
}

/** The repo's prisma/ folder: prisma/<subgraph>/{schema.prisma, migrations/}. */
export function findPrismaRoot(startDirectory: string = __dirname): string {
  return join(findRepoRoot(startDirectory), 'prisma');
}

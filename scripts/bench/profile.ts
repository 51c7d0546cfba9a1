// Summaries of V8 CPU profiles (`node --cpu-prof`): self time grouped by package or source file.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function bucketOf(frame: { functionName: string; url: string }): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName || 'anonymous'}`;
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url;
  const match = /\/(gateway|shared|psp-simulator|subgraphs\/[a-z]+)\/(?:dist|src)\/(.+)$/.exec(url);
  return match ? `${match[1]}/${match[2]}` : url.replace(/^file:\/\//, '');
}

export interface ProfileSummary {
  readonly file: string;
  readonly pid: number;
  readonly totalMs: number;
  readonly busyMs: number;
  readonly top: { bucket: string; ms: number; share: number }[];
  readonly topFunctions: { name: string; ms: number; share: number }[];
}

export function summarizeProfile(path: string, topN = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, index) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  const buckets = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    total += us;
    if (node.callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const bucket = bucketOf(node.callFrame);
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + us);
    const fn = `${node.callFrame.functionName || '(anonymous)'} ${bucket}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  const busy = total - idle;
  const sorted = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, topN)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busy > 0 ? us / busy : 0 }));
  const pidMatch = /CPU\.\d+\.\d+\.(\d+)\./.exec(path);
  return {
    file: path,
    pid: pidMatch ? Number(pidMatch[1]) : 0,
    totalMs: total / 1000,
    busyMs: busy / 1000,
    top: sorted(buckets).map(({ name, ms, share }) => ({ bucket: name, ms, share })),
    topFunctions: sorted(functions),
  };
}

export function profilesIn(directory: string): string[] {
  try {
    return readdirSync(directory)
      .filter((name) => name.endsWith('.cpuprofile'))
      .map((name) => join(directory, name));
  } catch {
    return [];
  }
}

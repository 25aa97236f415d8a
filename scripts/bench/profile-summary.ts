import { readFileSync } from 'node:fs';

// `node --import tsx scripts/bench/profile-summary.ts FILE.cpuprofile [N]`: where the app's
// time went in a --cpu-prof profile (as written by `npm run bench -- --cpu-prof DIR`): self
// time by function and by package, and total (inclusive) time of the app's own functions.

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary.ts FILE.cpuprofile [N]\n');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
// Idle time is left out: percentages are of the time the process was busy.
for (const [id] of self) if (byId.get(id)!.callFrame.functionName === '(idle)') self.delete(id);
const total = [...self.values()].reduce((a, b) => a + b, 0);

const where = (url: string): string => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.includes('/src/')) return `src/${url.split('/src/')[1]}`;
  if (url.startsWith('node:')) return url;
  return url === '' ? '(native)' : url.replace(/^.*\//, '');
};
const label = (n: Node): string => `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

function table(title: string, entries: Map<string, number>): void {
  process.stdout.write(`\n${title}\n`);
  for (const [k, v] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((v / total) * 100).toFixed(1).padStart(6)}%  ${k}\n`);
  }
}

const fnSelf = new Map<string, number>();
const pkgSelf = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id)!;
  fnSelf.set(label(n), (fnSelf.get(label(n)) ?? 0) + t);
  const pkg = where(n.callFrame.url).split(':')[0]!;
  pkgSelf.set(pkg, (pkgSelf.get(pkg) ?? 0) + t);
  // Inclusive time: every distinct frame on the stack gets the sample once.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (!seen.has(l)) {
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + t);
    }
  }
}
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s busy\n`);
table('self time by function', fnSelf);
table('self time by package', pkgSelf);
table('inclusive time', inclusive);

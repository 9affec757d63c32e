// Shared by the profiler tests: the fixtures' folder, the profiler's modules, and running a
// fixture under the preload until it exits.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { launch, require, root } from '../helpers/common.mjs';

export const fixtures = join(root, 'test', 'fixtures', 'profiler');
export const profiler = () => require(join(root, 'dist/cjs/profiler/index.js'));

/**
 * Runs `file` with `node [execArgv] file`, resolves { code, stdout, stderr }. The limit is for a
 * hang: the workloads burn a set amount of CPU time, which one loaded core stretches many times.
 */
export function runNode(file, { env = {}, execArgv = ['--require', 'tracewell/register'], timeoutMs = 120_000 } = {}) {
  // The flush at exit may take a minute (default 2 s): on a loaded machine the last period's
  // upload took longer than that and was kept for the next run instead of reaching the agent.
  // A dead-letter folder of its own unless the test names one: the default one in $HOME is
  // shared with every earlier run, and a profile an earlier run kept there was replayed to this
  // test's agent (before this run's own, when the burn outlasted the adoption delay).
  const dlq = env.TRACEWELL_DLQ_DIR === undefined ? mkdtempSync(join(tmpdir(), 'tw-prof-run-dlq-')) : null;
  const p = launch(file, { execArgv, env: { PATH: process.env.PATH, HOME: process.env.HOME, DD_ENV: 'test', DD_SERVICE: 'profiled', TRACEWELL_SHUTDOWN_TIMEOUT_MS: '60000', ...(dlq ? { TRACEWELL_DLQ_DIR: dlq } : {}), ...env } });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      p.child.kill('SIGKILL');
      reject(new Error(`${file} did not end in ${timeoutMs} ms; stderr:\n${p.stderr()}`));
    }, timeoutMs);
    p.exited.then(({ code }) => {
      clearTimeout(timer);
      if (dlq) rmSync(dlq, { recursive: true, force: true });
      resolve({ code, stdout: p.stdout(), stderr: p.stderr() });
    });
  });
}

/**
 * A gzipped pprof profile read by a decoder that is not ours: `go tool pprof -raw` (golang-go),
 * else `protoc --decode` with the pprof schema (protobuf-compiler). Resolves with
 * { decoder, samples: [{ values, locations: [{ name, file, line }] (leaf first), labels }] },
 * or null when neither tool is on this machine.
 */
export function foreignDecode(gz) {
  const dir = mkdtempSync(join(tmpdir(), 'tw-pprof-'));
  try {
    const file = join(dir, 'wall.pb.gz');
    writeFileSync(file, gz);
    const go = spawnSync('go', ['tool', 'pprof', '-raw', file], { encoding: 'utf8', env: { ...process.env, HOME: process.env.HOME ?? dir, GOFLAGS: '', GOTOOLCHAIN: 'local' }, timeout: 60_000 });
    if (go.status === 0) return { decoder: 'go tool pprof -raw', ...parseRaw(go.stdout) };
    const protoc = spawnSync('protoc', [`--proto_path=${fixtures}`, '--decode=perftools.profiles.Profile', 'profile.proto'], { input: gunzipSync(gz), encoding: 'utf8', timeout: 60_000 });
    if (protoc.status === 0) return { decoder: 'protoc --decode', ...parseProtocText(protoc.stdout) };
    if (go.error?.code === 'ENOENT' && protoc.error?.code === 'ENOENT') return null;
    throw new Error(`neither decoder read the profile:\ngo: ${go.stderr ?? go.error}\nprotoc: ${protoc.stderr ?? protoc.error}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `go tool pprof -raw`: the Samples section (values, location ids, labels below) and Locations. */
function parseRaw(text) {
  const lines = text.split('\n');
  const locations = new Map();
  const raw = [];
  let section = '';
  for (const line of lines) {
    if (/^(Samples|Locations|Mappings):?$/.test(line.trim())) {
      section = line.trim().replace(':', '');
      continue;
    }
    if (section === 'Samples') {
      const s = /^\s+([\d\s]+):\s*([\d\s]*)$/.exec(line);
      if (s) {
        raw.push({ values: s[1].trim().split(/\s+/).map(Number), ids: s[2].trim().split(/\s+/).filter(Boolean).map(Number), labels: {} });
        continue;
      }
      // Labels below their sample, on one line: `key:[value] other key:[value]` (keys may hold spaces).
      if (raw.length > 0 && /:\[.*\]\s*$/.test(line)) {
        for (const m of line.trim().matchAll(/(.+?):\[([^\]]*)\]\s*/g)) raw.at(-1).labels[m[1].trim()] = m[2];
      }
    } else if (section === 'Locations') {
      const m = /^\s+(\d+): 0x[0-9a-f]+ (?:M=\d+ )?(.*) (\S*):(\d+) s=\d+$/.exec(line);
      if (m) locations.set(Number(m[1]), { name: m[2], file: m[3], line: Number(m[4]) });
    }
  }
  return { samples: raw.map((s) => ({ values: s.values, labels: s.labels, locations: s.ids.map((id) => locations.get(id)) })) };
}

/** protoc's text format of a Profile: samples, locations, functions and the string table. */
function parseProtocText(text) {
  const strings = [...text.matchAll(/^string_table: "((?:[^"\\]|\\.)*)"$/gm)].map((m) => JSON.parse(`"${m[1].replace(/\\'/g, "'")}"`));
  const blocks = (name) => {
    const out = [];
    const re = new RegExp(`^${name} \\{$`, 'gm');
    let m;
    while ((m = re.exec(text)) !== null) {
      let depth = 1;
      let i = re.lastIndex;
      while (depth > 0 && i < text.length) {
        if (text[i] === '{') depth++;
        else if (text[i] === '}') depth--;
        i++;
      }
      out.push(text.slice(re.lastIndex, i - 1));
    }
    return out;
  };
  const num = (body, key) => [...body.matchAll(new RegExp(`^\\s*${key}: (-?\\d+)$`, 'gm'))].map((m) => Number(m[1]));
  const functions = new Map(blocks('function').map((b) => [num(b, 'id')[0], { name: strings[num(b, 'name')[0] ?? 0], file: strings[num(b, 'filename')[0] ?? 0] }]));
  const locations = new Map(
    blocks('location').map((b) => {
      const fn = functions.get(Number(/function_id: (\d+)/.exec(b)?.[1]));
      return [num(b, 'id')[0], { name: fn?.name, file: fn?.file, line: Number(/\bline: (\d+)/.exec(b.replace(/line \{/, ''))?.[1] ?? 0) }];
    }),
  );
  const samples = blocks('sample').map((b) => {
    const labels = {};
    for (const m of b.matchAll(/label \{\s*key: (\d+)\s*(?:str: (\d+)|num: (-?\d+))/g)) labels[strings[Number(m[1])]] = m[2] !== undefined ? strings[Number(m[2])] : m[3];
    return { values: num(b, 'value'), labels, locations: num(b, 'location_id').map((id) => locations.get(id)) };
  });
  return { samples };
}

// Builds dist/cjs with tsc (one implementation, so an app that both imports and requires
// tracewell gets one tracer), bundles the preload's start-up modules into dist/cjs/preload.js,
// then writes thin ESM entry points that re-export it.
import { execFileSync } from 'node:child_process';
import { rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { bundlePreload } from './bundle-preload.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });

const esm = join(root, 'dist', 'esm');
mkdirSync(esm, { recursive: true });
const require = createRequire(import.meta.url);
const names = Object.keys(require(join(root, 'dist', 'cjs', 'index.js'))).filter((n) => n !== 'default' && n !== '__esModule');
writeFileSync(
  join(esm, 'index.mjs'),
  `import cjs from '../cjs/index.js';\n` +
    names.map((n) => `export const ${n} = cjs.${n};`).join('\n') +
    `\nexport default cjs;\n`,
);
writeFileSync(join(esm, 'index.d.mts'), `export * from '../cjs/index.js';\nimport * as all from '../cjs/index.js';\nexport default all;\n`);
// The preload's entry points load its modules from one file (scripts/bundle-preload.mjs). The
// ES module one requires it rather than importing it: an import of a CommonJS file makes Node
// scan its whole source for export names first (20 ms for the bundle on Node 20).
bundlePreload(root);
writeFileSync(join(esm, 'register.mjs'), `import { createRequire } from 'node:module';\ncreateRequire(import.meta.url)('../cjs/preload.js');\n`);

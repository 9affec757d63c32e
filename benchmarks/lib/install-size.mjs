// What an install put in a project's node_modules: every package (scoped and nested ones
// included) and the bytes of all files. Used by the footprint benchmark and the install test.
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** `{ packages, mb }` of `<dir>/node_modules` (MB = 1,048,576 bytes; links are not followed). */
export function measureInstall(dir) {
  let packages = 0;
  let bytes = 0;
  const walk = (d, inModules) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) continue;
      if (st.isDirectory()) {
        if (inModules && !name.startsWith('.') && !name.startsWith('@') && existsSync(join(p, 'package.json'))) packages++;
        if (name.startsWith('@') && inModules) {
          for (const sub of readdirSync(p)) {
            const sp = join(p, sub);
            if (existsSync(join(sp, 'package.json'))) packages++;
            walk(sp, false);
          }
        } else walk(p, name === 'node_modules');
      } else bytes += st.size;
    }
  };
  walk(join(dir, 'node_modules'), true);
  return { packages, mb: bytes / 1048576 };
}

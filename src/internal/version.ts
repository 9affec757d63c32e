/** The package version, read once from our own package.json. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function read(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export const TRACER_VERSION = read();

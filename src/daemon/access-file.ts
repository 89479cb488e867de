/**
 * Loads the IP access rules the way the reference does at start-up: `spread.access_ip` in the
 * working directory, else `/etc/spread.access_ip`. No file: IP authentication always fails.
 */
import { readFileSync } from 'node:fs';
import { parseAccessIp } from './core/auth.js';
import type { AccessFile } from './core/auth.js';

export const ACCESS_FILE_PATHS = ['spread.access_ip', '/etc/spread.access_ip'] as const;

export interface LoadedAccessFile extends AccessFile {
  readonly path: string;
}

/**
 * @returns the rules of the first file found, or null when there is none.
 * @throws AccessFileError for a line the reference treats as fatal.
 */
export function loadAccessFile(paths: readonly string[] = ACCESS_FILE_PATHS): LoadedAccessFile | null {
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'latin1');
    } catch {
      continue;
    }
    return { ...parseAccessIp(text), path };
  }
  return null;
}

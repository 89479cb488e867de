/**
 * Where the reference's recordings live in this repository: test/vectors/reference/ (see its
 * README for what each file is and how it was recorded). Every test and benchmark finds them
 * through here; SPREAD_CAPTURES_DIR / SPREAD_REFERENCE_CONF_DIR point elsewhere (fresh captures).
 */
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('./reference/', import.meta.url));

/** The reference's captures (NAME.pcap, NAME.json, NAME.decoded.txt), with a trailing slash. */
export function referenceCapturesDir(): string {
  const dir = process.env['SPREAD_CAPTURES_DIR'] ?? `${ROOT}captures/`;
  return dir.endsWith('/') ? dir : `${dir}/`;
}

/** The spread.conf files of those runs, with a trailing slash. */
export function referenceConfDir(): string {
  const dir = process.env['SPREAD_REFERENCE_CONF_DIR'] ?? `${ROOT}conf/`;
  return dir.endsWith('/') ? dir : `${dir}/`;
}

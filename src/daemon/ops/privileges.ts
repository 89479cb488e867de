/**
 * Privilege drop at start (SPEC Part IX §3): a daemon started as root enters RuntimeDir and
 * becomes DaemonUser / DaemonGroup (supplementary groups: that group alone), after its sockets
 * are open, as the reference does. Node cannot chroot: the confinement is the directory, the
 * ids, and whatever the service manager adds (packaging/spread.service).
 */
import { chownSync } from 'node:fs';
import { DEFAULTS } from '../config/index.js';

export interface PrivilegeSettings {
  readonly runtimeDir: string;
  readonly daemonUser: string;
  readonly daemonGroup: string;
}

/** What the drop needs from the process (tests pass a fake). */
export interface ProcessIds {
  geteuid(): number;
  getuid(): number;
  getgid(): number;
  seteuid(id: string | number): void;
  setuid(id: string | number): void;
  setgid(id: string | number): void;
  setgroups(groups: (string | number)[]): void;
  chdir(dir: string): void;
}

export class PrivilegeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrivilegeError';
  }
}

export type DropOutcome =
  | { readonly kind: 'not-root' }
  | { readonly kind: 'root-kept' }
  | { readonly kind: 'dropped'; readonly uid: number; readonly gid: number };

/** True when spread.conf names any of DaemonUser, DaemonGroup, RuntimeDir (not the defaults). */
function configured(s: PrivilegeSettings): boolean {
  return s.daemonUser !== DEFAULTS.daemonUser || s.daemonGroup !== DEFAULTS.daemonGroup || s.runtimeDir !== DEFAULTS.runtimeDir;
}

/**
 * Drops root. `owned` are files made as root that the daemon removes at exit (its unix
 * socket): they are given to the new user first. Throws PrivilegeError with the reference's
 * wording when the directory or the ids cannot be taken.
 */
export function dropPrivileges(s: PrivilegeSettings, owned: readonly string[], p: ProcessIds = process as unknown as ProcessIds): DropOutcome {
  if (p.geteuid() !== 0) return { kind: 'not-root' };
  if (!configured(s) && !userExists(s.daemonUser, p)) return { kind: 'root-kept' };
  const failed = (): PrivilegeError =>
    new PrivilegeError(`FAILED privilege drop to user/group '${s.daemonUser}/${s.daemonGroup}' (defined in spread.conf)`);
  try {
    p.chdir(s.runtimeDir);
  } catch {
    throw new PrivilegeError(`FAILED to enter RuntimeDir '${s.runtimeDir}'`);
  }
  let uid: number;
  try {
    p.setgroups([s.daemonGroup]);
    p.setgid(s.daemonGroup);
    p.seteuid(s.daemonUser);
    uid = p.geteuid();
    p.seteuid(0);
  } catch {
    throw failed();
  }
  const gid = p.getgid();
  for (const file of owned) {
    try {
      chownSync(file, uid, gid);
    } catch {
      /* gone already: nothing to remove at exit */
    }
  }
  try {
    p.setuid(uid);
  } catch {
    throw failed();
  }
  return { kind: 'dropped', uid, gid };
}

/** Whether `name` is a user of the passwd database (tried on a throwaway effective id). */
function userExists(name: string, p: ProcessIds): boolean {
  try {
    p.seteuid(name);
    p.seteuid(0);
    return true;
  } catch {
    return false;
  }
}

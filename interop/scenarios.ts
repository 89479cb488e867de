/**
 * Interop harness, part 4: scripted client sessions shared by the tool tests and the proof
 * scripts. A scenario names its clients (programs + arguments, given the daemon) and a list of
 * steps; running it against two daemons — or with two implementations of a tool — and comparing
 * the normalised outputs is the proof of compatibility.
 *
 * Steps wait for the output that must come before sending the next command (bounded waits),
 * and a command with follow-up lines (s, m, b) is written in one piece: the reference spuser
 * reads stdin through stdio, so lines that arrive together are consumed together.
 */
import type { DaemonHandle } from './launcher.js';
import { exit, line, sleep, start, waitFor, write, type ClientSpec, type Step } from './session.js';
import type { NormaliseOptions } from './compare.js';

/** A program and the arguments that come before the tool's own flags. */
export interface Tool {
  command: string;
  args: string[];
}

export interface Scenario {
  name: string;
  description: string;
  clients(d: DaemonHandle): ClientSpec[];
  steps: Step[];
  normalise?: NormaliseOptions;
}

const JOINED = (who: string): string => `Due to the JOIN of #${who}#`;
const PROMPT_AFTER_MESSAGE = '\n\nUser> ';

function client(id: string, tool: Tool, d: DaemonHandle, flags: string[]): ClientSpec {
  return { id, command: tool.command, args: [...tool.args, ...flags, '-s', d.spread] };
}

/** spuser alone: join, send, multi-line send, burst, poll, leave, quit. */
export function spuserSolo(spuser: Tool): Scenario {
  return {
    name: 'spuser-solo',
    description: 'one spuser: j, s, m, b, p, l, unknown command, q',
    clients: (d) => [client('alice', spuser, d, ['-u', 'alice'])],
    steps: [
      start('alice'),
      waitFor('alice', 'User> '),
      line('alice', 'j grp'),
      waitFor('alice', JOINED('alice')),
      waitFor('alice', 'User> ', 3),
      write('alice', 's grp\nhello world\n'),
      waitFor('alice', 'received SAFE message'),
      waitFor('alice', PROMPT_AFTER_MESSAGE, 1),
      write('alice', 'm grp\nfirst line\nsecond line\n\n'),
      waitFor('alice', 'received SAFE message', 2),
      waitFor('alice', PROMPT_AFTER_MESSAGE, 2),
      write('alice', 'b grp\n20\n'),
      waitFor('alice', 'received FIFO message', 10),
      waitFor('alice', PROMPT_AFTER_MESSAGE, 12),
      sleep(100),
      line('alice', 'p'),
      waitFor('alice', 'Polling sais:'),
      line('alice', 'x'),
      waitFor('alice', 'Unknown commnad'),
      line('alice', 'l grp'),
      waitFor('alice', 'received membership message that left group grp'),
      sleep(100),
      line('alice', 'q'),
      exit('alice'),
    ],
  };
}

/** spuser with asynchronous reads disabled: d, s, p (pending bytes), r, e, q. */
export function spuserSyncRead(spuser: Tool): Scenario {
  return {
    name: 'spuser-sync-read',
    description: 'one spuser: d (no async read), s, p, r, r, e, q',
    clients: (d) => [client('carol', spuser, d, ['-u', 'carol'])],
    steps: [
      start('carol'),
      waitFor('carol', 'User> '),
      line('carol', 'd'),
      waitFor('carol', 'User> ', 2),
      line('carol', 'j grp'),
      waitFor('carol', 'User> ', 3),
      write('carol', 's grp\nsync hello\n'),
      waitFor('carol', 'enter message: '),
      sleep(500),
      line('carol', 'p'),
      waitFor('carol', 'Polling sais:'),
      line('carol', 'r'),
      waitFor('carol', JOINED('carol')),
      line('carol', 'r'),
      waitFor('carol', 'received SAFE message'),
      line('carol', 'e'),
      waitFor('carol', 'User> ', 10),
      line('carol', 'q'),
      exit('carol'),
    ],
  };
}

/** Bad input: commands without a group, an illegal group name, a name already in use, -r. */
export function spuserErrors(spuser: Tool): Scenario {
  return {
    name: 'spuser-errors',
    description: 'spuser: j/l/s without group, 32-char group, duplicate name, random name (-r)',
    clients: (d) => [client('dave', spuser, d, ['-u', 'dave']), client('dave2', spuser, d, ['-u', 'dave']), client('rnd', spuser, d, ['-r'])],
    steps: [
      start('dave'),
      waitFor('dave', 'User> '),
      line('dave', 'j'),
      waitFor('dave', 'invalid group'),
      line('dave', 'l'),
      waitFor('dave', 'invalid group', 2),
      line('dave', 's'),
      waitFor('dave', 'invalid group', 3),
      line('dave', `j ${'g'.repeat(32)}`),
      waitFor('dave', 'SP_error: (-14)'),
      line('dave', `l ${'g'.repeat(31)}`),
      sleep(300),
      start('dave2'),
      exit('dave2'),
      start('rnd'),
      waitFor('rnd', 'User> '),
      line('rnd', 'j rgrp'),
      waitFor('rnd', 'Due to the JOIN of'),
      line('rnd', 'q'),
      exit('rnd'),
      line('dave', 'q'),
      exit('dave'),
    ],
    normalise: {},
  };
}

/**
 * Lines that arrive together: the reference takes one command per stdin wakeup, so commands
 * left in its stdio buffer wait for the next input. Paced by time on purpose.
 */
export function spuserBufferedInput(spuser: Tool): Scenario {
  return {
    name: 'spuser-buffered-input',
    description: 'spuser: several commands in one write (j, d, s+message), then p, r, e+l, x',
    clients: (d) => [client('erin', spuser, d, ['-u', 'erin'])],
    steps: [
      start('erin'),
      waitFor('erin', 'User> '),
      write('erin', 'j grp\nd\ns grp\nhi\n'),
      waitFor('erin', JOINED('erin')),
      sleep(500),
      line('erin', 'p'),
      waitFor('erin', 'Polling sais:'),
      sleep(300),
      line('erin', 'r'),
      waitFor('erin', 'received SAFE message'),
      sleep(200),
      write('erin', 'e\nl grp\n'),
      sleep(300),
      line('erin', 'x'),
      waitFor('erin', 'received membership message that left group grp'),
      sleep(200),
      line('erin', 'q'),
      exit('erin'),
    ],
  };
}

/** Bursts with edge sizes, a burst without group (dummy_group_name), a message with a NUL byte. */
export function spuserBurstEdges(spuser: Tool): Scenario {
  return {
    name: 'spuser-burst-edges',
    description: 'spuser: b with 5 bytes, b without group or size, m with a NUL byte, b with junk size',
    clients: (d) => [client('fred', spuser, d, ['-u', 'fred'])],
    steps: [
      start('fred'),
      waitFor('fred', 'User> '),
      line('fred', 'j grp'),
      waitFor('fred', JOINED('fred')),
      sleep(100),
      write('fred', 'b grp\n5\n'),
      waitFor('fred', 'received FIFO message', 10),
      sleep(200),
      write('fred', 'b\n\n'),
      waitFor('fred', 'sent message 10 (total 20)'),
      sleep(200),
      write('fred', 'm grp\na\u0000b\nc\n\n'),
      waitFor('fred', 'received SAFE message'),
      sleep(200),
      write('fred', 'b grp\nzz\n'),
      waitFor('fred', 'received FIFO message', 20),
      sleep(200),
      line('fred', 'q'),
      exit('fred'),
    ],
  };
}

/** Two clients: bob (spuser) and alice (sptuser or spuser) see each other join, talk, leave. */
export function spuserPair(spuser: Tool, other: Tool, otherName = 'sptuser'): Scenario {
  return {
    name: `spuser-${otherName}-pair`,
    description: `bob (spuser) and alice (${otherName}): join, message, leave, disconnect`,
    clients: (d) => [client('bob', spuser, d, ['-u', 'bob']), client('alice', other, d, ['-u', 'alice'])],
    steps: [
      start('bob'),
      waitFor('bob', 'User> '),
      line('bob', 'j grp'),
      waitFor('bob', JOINED('bob')),
      start('alice'),
      waitFor('alice', 'User> '),
      line('alice', 'j grp'),
      waitFor('bob', JOINED('alice')),
      waitFor('alice', JOINED('alice')),
      sleep(100),
      write('alice', 's grp\nhello from alice\n'),
      waitFor('bob', 'received SAFE message'),
      waitFor('alice', 'received SAFE message'),
      sleep(100),
      write('bob', 's grp other\nhello from bob\n'),
      waitFor('bob', 'received SAFE message', 2),
      waitFor('alice', 'received SAFE message', 2),
      sleep(100),
      line('alice', 'l grp'),
      waitFor('bob', 'Due to the LEAVE of #alice#'),
      waitFor('alice', 'received membership message that left group grp'),
      sleep(100),
      line('alice', 'j grp'),
      waitFor('bob', JOINED('alice'), 2),
      sleep(100),
      line('alice', 'q'),
      exit('alice'),
      waitFor('bob', 'Due to the DISCONNECT of #alice#'),
      sleep(100),
      line('bob', 'q'),
      exit('bob'),
    ],
  };
}

/** spflooder runs: default (no membership), with -n 1 (waits for itself), and -ro/-wo pair. */
export function flooderScenarios(spflooder: Tool): Scenario[] {
  return [
    {
      name: 'spflooder-100000',
      description: 'spflooder -m 100000',
      clients: (d) => [client('flooder', spflooder, d, ['-m', '100000'])],
      steps: [start('flooder'), exit('flooder', 30_000)],
    },
    {
      name: 'spflooder-n1',
      description: 'spflooder -m 5000 -b 100 -n 1 (membership, FIFO)',
      clients: (d) => [client('flooder', spflooder, d, ['-m', '5000', '-b', '100', '-n', '1'])],
      steps: [start('flooder'), exit('flooder', 30_000)],
    },
    {
      name: 'spflooder-ro-wo',
      description: 'spflooder -ro (reader) and spflooder -wo (writer), 3000 messages',
      clients: (d) => [client('reader', spflooder, d, ['-ro', '-m', '3000', '-u', 'reader']), client('writer', spflooder, d, ['-wo', '-m', '3000', '-u', 'writer'])],
      steps: [
        // spflooder's stdout is a pipe here, so fully buffered: wait by time, not by output.
        start('reader'),
        sleep(700),
        start('writer'),
        exit('writer', 30_000),
        exit('reader', 30_000),
      ],
    },
  ];
}

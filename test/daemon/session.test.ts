/**
 * The connect handshake and authentication, through the core (no sockets).
 */
import { describe, expect, it } from 'vitest';
import { authReply, connectBytes, Harness, hex, login } from './harness.js';

const AUTH_LIST = '054e554c4c20';
const ACCEPT_ALICE = '010404001023616c696365236c6f63616c686f7374';

describe('connect handshake', () => {
  it('accepts a 4.4 client: auth list, then the accept with a patch byte', () => {
    const h = new Harness();
    h.connect(1);
    h.send(1, connectBytes('alice'));
    expect(hex(h.take(1))).toBe(AUTH_LIST);
    h.send(1, authReply());
    expect(hex(h.take(1))).toBe(ACCEPT_ALICE);
    expect(h.core.stats.sessions).toBe(1);
  });

  it('rejects a library older than 3.1.0 with REJECT_VERSION and closes', () => {
    for (const v of ['0300', '0263', '0000']) {
      const h = new Harness();
      h.connect(1);
      h.send(1, Buffer.from(`${v}0105616c696365`, 'hex'));
      expect(hex(h.take(1)), v).toBe('f9');
      expect(h.closed.get(1)).toBe('flush');
      expect(h.core.stats.sessions).toBe(0);
    }
  });

  it('decides the version from two bytes (plus the patch byte above 3.14), signed like C chars', () => {
    // 3.1.0 is the minimum: accepted (old client: no auth list, no patch in the accept).
    let h = new Harness();
    h.connect(1);
    h.send(1, Buffer.from('03010105616c696365', 'hex'));
    expect(hex(h.take(1))).toBe('0104041023616c696365236c6f63616c686f7374');
    // A major version byte >= 0x80 is negative: REJECT_VERSION.
    h = new Harness();
    h.connect(1);
    h.send(1, Buffer.from('8004', 'hex'));
    expect(hex(h.take(1))).toBe('f9');
  });

  it('old clients: < 3.15 has no patch byte anywhere, 3.15.x gets the patch byte, neither gets an auth list', () => {
    let h = new Harness();
    h.connect(1);
    h.send(1, connectBytes('alice', { version: [3, 14, 0] }));
    expect(hex(h.take(1))).toBe('0104041023616c696365236c6f63616c686f7374');
    h = new Harness();
    h.connect(1);
    h.send(1, connectBytes('alice', { version: [3, 15, 2] }));
    expect(hex(h.take(1))).toBe(ACCEPT_ALICE);
    h = new Harness();
    h.connect(1);
    h.send(1, connectBytes('alice', { version: [3, 16, 0] }));
    expect(hex(h.take(1))).toBe(AUTH_LIST);
  });

  it('rejects name_len above 10 or negative with REJECT_ILLEGAL_NAME', () => {
    for (const len of [11, 0x7f, 0x80, 0xff]) {
      const h = new Harness();
      h.connect(1);
      h.send(1, Uint8Array.from([4, 4, 0, 1, len]));
      expect(hex(h.take(1)), `name_len ${len}`).toBe('fb');
      expect(h.closed.has(1)).toBe(true);
    }
  });

  it('rejects names with bytes outside $..~ (space, #, DEL, >= 0x80)', () => {
    for (const bad of ['a b', 'a#b', '#', 'a\x7f', 'a\x80', '"x', 'x\x00y']) {
      const h = new Harness();
      h.connect(1);
      h.send(1, connectBytes(bad));
      expect(hex(h.take(1)), JSON.stringify(bad)).toBe('fb');
    }
    const h = new Harness();
    h.connect(1);
    h.send(1, connectBytes('$~'));
    expect(hex(h.take(1))).toBe(AUTH_LIST);
  });

  it('rejects a second session with the same name (REJECT_NOT_UNIQUE) before auth', () => {
    const h = new Harness();
    login(h, 1, 'alice');
    h.connect(2);
    h.send(2, connectBytes('alice'));
    expect(hex(h.take(2))).toBe('fa');
    // A name is taken from the moment it is read, before authentication completes.
    h.connect(3);
    h.send(3, connectBytes('bob'));
    h.connect(4);
    h.send(4, connectBytes('bob'));
    expect(hex(h.take(4))).toBe('fa');
  });

  it('generates `r<0..9998>-<n>` names, at most 9 chars, unique', () => {
    let draw = 0;
    const draws = [0.5, 0.5, 0.25];
    const h = new Harness({ random: () => draws[draw++ % draws.length]! });
    h.connect(12345);
    h.send(12345, Uint8Array.from([4, 4, 0, 1, 0]));
    h.send(12345, authReply());
    const out = h.take(12345);
    // 9999 * 0.5 = 4999.5 → 4999; "r4999-12345" truncated to 9 chars.
    expect(Buffer.from(out.subarray(11)).toString('latin1')).toBe('#r4999-123#localhost');
    // Same draw and a conn id with the same first digits: the name is taken, draw again.
    h.connect(12399);
    h.send(12399, Uint8Array.from([4, 4, 0, 1, 0]));
    h.send(12399, authReply());
    expect(Buffer.from(h.take(12399).subarray(11)).toString('latin1')).toBe('#r2499-123#localhost');
  });

  it('waits for a connect message split over several chunks', () => {
    const h = new Harness();
    h.connect(1);
    for (const b of connectBytes('alice')) h.send(1, Uint8Array.of(b));
    expect(hex(h.take(1))).toBe(AUTH_LIST);
    const reply = authReply();
    h.send(1, reply.subarray(0, 40));
    expect(h.take(1)).toHaveLength(0);
    h.send(1, reply.subarray(40));
    expect(hex(h.take(1))).toBe(ACCEPT_ALICE);
  });

  it('handles messages pipelined right after the auth reply', () => {
    const h = new Harness();
    h.connect(1);
    h.send(1, connectBytes('alice'));
    h.take(1);
    const join = Buffer.from(
      '80000180' + Buffer.from('#alice#localhost'.padEnd(32, '\0'), 'latin1').toString('hex') + '01000000' + '80000080' + '00000000' +
        Buffer.from('g'.padEnd(32, '\0'), 'latin1').toString('hex'),
      'hex',
    );
    h.send(1, Buffer.concat([authReply(), join]));
    const out = h.take(1);
    expect(hex(out.subarray(0, 21))).toBe(ACCEPT_ALICE);
    expect(out.length).toBe(21 + 48 + 32 + 56);
  });
});

describe('handshake timeouts', () => {
  it('closes silently when the version or flags do not arrive in time', () => {
    for (const partial of [new Uint8Array(0), Uint8Array.of(4), Uint8Array.of(4, 4, 0, 1)]) {
      const h = new Harness({ connectTimeoutMs: 1000 });
      h.connect(1);
      if (partial.length > 0) h.send(1, partial);
      h.advance(999);
      expect(h.closed.has(1)).toBe(false);
      h.advance(1);
      expect(h.closed.get(1)).toBe('flush');
      expect(h.take(1)).toHaveLength(0);
    }
  });

  it('answers REJECT_ILLEGAL_NAME when the name is short at the deadline', () => {
    const h = new Harness();
    h.connect(1);
    h.send(1, Uint8Array.from([4, 4, 0, 1, 5, 0x61, 0x62]));
    h.advance(1000);
    expect(hex(h.take(1))).toBe('fb');
  });

  it('denies (REJECT_AUTH) and frees the name when the auth reply is short at the deadline', () => {
    const h = new Harness({ authTimeoutMs: 5000 });
    h.connect(1);
    h.send(1, connectBytes('alice'));
    h.send(1, authReply().subarray(0, 89));
    h.advance(4999);
    expect(hex(h.take(1))).toBe(AUTH_LIST);
    h.advance(1);
    expect(hex(h.take(1))).toBe('f7');
    expect(h.core.stats.sessions).toBe(0);
  });

  it('a client that closes during authentication frees its name', () => {
    const h = new Harness();
    h.connect(1);
    h.send(1, connectBytes('alice'));
    h.eof(1);
    expect(h.core.stats.sessions).toBe(0);
    login(h, 2, 'alice');
    expect(h.core.stats.sessions).toBe(1);
  });
});

describe('authentication', () => {
  it('denies a method that is not enabled (REJECT_AUTH) and frees the name', () => {
    const h = new Harness();
    h.connect(1);
    h.send(1, connectBytes('alice'));
    h.send(1, authReply(['IP']));
    expect(hex(h.take(1))).toBe(AUTH_LIST + 'f7');
    expect(h.closed.get(1)).toBe('flush');
    expect(h.core.stats.sessions).toBe(0);
  });

  it('denies an empty request and unknown names', () => {
    for (const req of [[], ['PWORD'], ['NULL', 'nope'], ['null']]) {
      const h = new Harness();
      h.connect(1);
      h.send(1, connectBytes('alice'));
      h.send(1, authReply(req));
      expect(hex(h.take(1)), JSON.stringify(req)).toBe(AUTH_LIST + 'f7');
    }
  });

  it('offers the enabled methods in registration order', () => {
    const h = new Harness({ authPolicy: { allowed: ['IP', 'NULL'], ipRules: [] } });
    h.connect(1);
    h.send(1, connectBytes('alice'));
    expect(Buffer.from(h.take(1)).toString('latin1')).toBe('\x08NULL IP ');
  });

  it('with no method enabled sends 00 then REJECT_AUTH', () => {
    const h = new Harness({ authPolicy: { allowed: [] } });
    h.connect(1);
    h.send(1, connectBytes('alice'));
    expect(hex(h.take(1))).toBe('00f7');
    expect(h.core.stats.sessions).toBe(0);
  });

  it('IP: allowed by address rules; unix clients have address 0; no file denies everyone', () => {
    const rules = [
      { network: 0, prefix: 32 },
      { network: 0x0a000000, prefix: 8 },
    ];
    const cases: [number, 'tcp' | 'unix', typeof rules | null, boolean][] = [
      [0x0a010203, 'tcp', rules, true],
      [0x0b010203, 'tcp', rules, false],
      [0, 'unix', rules, true],
      [0x0a010203, 'tcp', null, false],
    ];
    for (const [address, transport, ipRules, ok] of cases) {
      const h = new Harness({ authPolicy: { allowed: ['NULL', 'IP'], ipRules } });
      h.connect(1, { transport, address });
      h.send(1, connectBytes('alice'));
      h.send(1, authReply(['IP']));
      const out = hex(h.take(1));
      expect(out.endsWith('f7'), `${address.toString(16)} ${transport}`).toBe(!ok);
    }
  });

  it('RequiredAuthMethods run even when the client did not ask for them', () => {
    const h = new Harness({ authPolicy: { allowed: ['NULL', 'IP'], required: ['IP'], ipRules: [] } });
    h.connect(1);
    h.send(1, connectBytes('alice'));
    h.send(1, authReply(['NULL']));
    expect(hex(h.take(1)).endsWith('f7')).toBe(true);
    const ok = new Harness({ authPolicy: { allowed: ['NULL', 'IP'], required: ['IP'], ipRules: [{ network: 0x7f000000, prefix: 8 }] } });
    ok.connect(1);
    ok.send(1, connectBytes('alice'));
    ok.send(1, authReply(['NULL']));
    expect(hex(ok.take(1)).endsWith(ACCEPT_ALICE)).toBe(true);
  });

  it('old clients: IP if enabled, else NULL if enabled, else denied', () => {
    const run = (allowed: string[], ipRules: { network: number; prefix: number }[] | null): string => {
      const h = new Harness({ authPolicy: { allowed, ipRules } });
      h.connect(1);
      h.send(1, connectBytes('alice', { version: [3, 15, 0] }));
      return hex(h.take(1));
    };
    expect(run(['NULL'], null)).toBe(ACCEPT_ALICE);
    expect(run(['NULL', 'IP'], null)).toBe('f7');
    expect(run(['NULL', 'IP'], [{ network: 0x7f000001, prefix: 32 }])).toBe(ACCEPT_ALICE);
    expect(run([], null)).toBe('f7');
  });
});

describe('session quota', () => {
  it('rejects the 998th session with REJECT_QUOTA without reading anything', () => {
    const h = new Harness();
    for (let i = 0; i < 997; i++) {
      h.connect(i + 1);
      h.send(i + 1, connectBytes(`u${i}`));
      h.send(i + 1, authReply());
    }
    expect(h.core.stats.sessions).toBe(997);
    h.connect(5000);
    expect(hex(h.take(5000))).toBe('fd');
    expect(h.closed.get(5000)).toBe('flush');
    // A session leaves (its KILL is delivered): room again.
    h.eof(1);
    login(h, 5001, 'again');
    expect(h.core.stats.sessions).toBe(997);
  });

  it('counts sessions still authenticating and killed sessions whose KILL is pending', () => {
    const h = new Harness({ maxSessions: 2, autoOrder: false });
    h.connect(1);
    h.send(1, connectBytes('a'));
    login(h, 2, 'b');
    h.eof(2);
    h.connect(3);
    expect(hex(h.take(3))).toBe('fd');
    h.order();
    h.connect(4);
    h.send(4, connectBytes('c'));
    expect(hex(h.take(4))).toBe(AUTH_LIST);
  });
});

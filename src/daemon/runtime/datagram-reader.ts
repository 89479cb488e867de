/**
 * The reference's read order for the two UDP channels (SPEC.md Part VIII §8 item 1): a token
 * waits while data is readable, unless the engine asks for the token first (the accelerated
 * ring's hint that its predecessor has sent the token ahead of its packets). Node reads every
 * socket that is ready in one poll phase before setImmediate callbacks run, so a token waits
 * there, behind the data read in the same turn. The node's actions are carried out (settle)
 * once per turn for data, at once for a token, so a token is forwarded as soon as it is handled.
 */
import type { DaemonNode } from '../node/node.js';

export class DatagramReader {
  private tokens: Uint8Array[] = [];
  private turn: NodeJS.Immediate | null = null;
  private closed = false;

  constructor(
    private readonly node: DaemonNode,
    private readonly clock: () => number,
    private readonly settle: () => void,
  ) {}

  datagram(channel: 'data' | 'token', bytes: Uint8Array): void {
    if (this.closed) return;
    if (channel === 'token' && !this.node.engine.tokenHasPriority) {
      this.tokens.push(bytes);
    } else {
      this.node.datagram(channel, bytes, this.clock());
      if (channel === 'token') this.settle();
      else if (this.tokens.length > 0 && this.node.engine.tokenHasPriority) this.takeTokens();
    }
    this.turn ??= setImmediate(this.endOfTurn);
  }

  close(): void {
    this.closed = true;
    if (this.turn !== null) clearImmediate(this.turn);
    this.turn = null;
    this.tokens = [];
  }

  private readonly endOfTurn = (): void => {
    this.turn = null;
    if (this.closed) return;
    this.takeTokens();
    this.settle();
  };

  private takeTokens(): void {
    const tokens = this.tokens;
    this.tokens = [];
    for (let i = 0; i < tokens.length; i++) {
      this.node.datagram('token', tokens[i]!, this.clock());
      this.settle();
    }
  }
}

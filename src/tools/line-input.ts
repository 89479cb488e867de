/**
 * Lines from a stream, one at a time (README "Tools": spmonitor's stdin). `next()` resolves to
 * the next line with its '\n' (the last one may lack it), or null at the end of input.
 */
export class LineInput {
  private buf = '';
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(stream: NodeJS.ReadableStream) {
    stream.setEncoding?.('latin1');
    stream.on('data', (chunk: string | Buffer) => {
      this.buf += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
      this.wake?.();
    });
    stream.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
    stream.on('error', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  async next(): Promise<string | null> {
    for (;;) {
      const nl = this.buf.indexOf('\n');
      if (nl >= 0) {
        const line = this.buf.slice(0, nl + 1);
        this.buf = this.buf.slice(nl + 1);
        return line;
      }
      if (this.ended) {
        if (this.buf === '') return null;
        const rest = this.buf;
        this.buf = '';
        return rest;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

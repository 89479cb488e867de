/**
 * The entry point the client tools' bin scripts share (README "Tools": spuser, spflooder,
 * spmonitor): run the tool on the process's arguments and exit with its code.
 */

/**
 * Runs `tool` on `process.argv.slice(2)` and exits with the code it resolves to; a crash is
 * printed as `<name>: <stack>` and exits 1. Output closed under us (EPIPE) exits 1 quietly,
 * as the reference tools die of SIGPIPE. stdout to a pipe, file or terminal is written
 * synchronously on Linux, so nothing is lost by exiting at once.
 */
export async function toolMain(name: string, tool: (argv: readonly string[]) => Promise<number>): Promise<void> {
  process.stdout.on('error', () => process.exit(1));
  let code: number;
  try {
    code = await tool(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${name}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    code = 1;
  }
  process.exit(code);
}

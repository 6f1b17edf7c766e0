/**
 * The ending of a standalone bench script: exit 0 once `main` resolved (open handles such as a broker's client must
 * not keep it alive), or print the error and exit 1.
 */
export function runBenchMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}

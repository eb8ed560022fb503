/** Command-line handling shared by the perf scripts: their knobs are env variables, so args are few. */

/**
 * `--help`/`-h`: prints `usage` on stdout, exit 0. An argument `accept` does not take:
 * names it and prints `usage` on stderr, exit 2. Returns the accepted arguments.
 */
export function parseArgs (usage: string, argv: readonly string[] = process.argv.slice(2),
  accept: (arg: string) => boolean = () => false): string[] {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage)
    process.exit(0)
  }
  const bad = argv.filter((a) => !accept(a))
  if (bad.length > 0) {
    process.stderr.write(`unknown argument${bad.length > 1 ? 's' : ''}: ${bad.join(' ')}\n${usage}`)
    process.exit(2)
  }
  return [...argv]
}

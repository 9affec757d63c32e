/**
 * The `tracewell` command. Each subcommand is a module with `usage` and `run(args, out)`;
 * add one by adding it to COMMANDS. `--help` / `-h` anywhere after a command, and
 * `tracewell help <command>`, print that command's usage here: commands never see them.
 */
import * as agent from './agent';
import * as dlq from './dlq';
import * as doctor from './doctor';
import * as profile from './profile';

interface Command {
  usage: string;
  run(args: string[], out: (s: string) => void): Promise<number>;
}

const COMMANDS: Record<string, Command> = { agent, dlq, doctor, profile };

function help(): string {
  return `usage: tracewell <command> [options]\n\ncommands:\n${Object.values(COMMANDS)
    .map((c) => '  ' + c.usage.replace(/\n/g, '\n  '))
    .join('\n')}\n\ntracewell <command> --help (or -h, or tracewell help <command>) prints one command's usage.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const out = (s: string): void => {
    process.stdout.write(s.endsWith('\n') ? s : s + '\n');
  };
  const [first, ...afterFirst] = argv;
  const asked = first === 'help' || first === '--help' || first === '-h';
  if (first === undefined || (asked && afterFirst.length === 0)) {
    out(help());
    return 0;
  }
  // `tracewell help agent` is `tracewell agent --help`.
  const [name, ...rest] = asked ? [afterFirst[0], '--help'] : argv;
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`tracewell: unknown command "${name}"\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out(`usage: ${command.usage}`);
    return 0;
  }
  try {
    return await command.run(rest, out);
  } catch (err) {
    process.stderr.write(`tracewell ${name}: ${(err as Error).message}\n`);
    return 1;
  }
}

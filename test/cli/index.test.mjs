// `tracewell <command> --help`: the real bin prints the command's usage and exits 0, for every
// command; an unknown option still exits 2 with the usage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { root } from '../helpers/common.mjs';

const bin = join(root, 'bin', 'tracewell.js');

/** Runs the bin; resolves with its exit code and output. The timeout only ends a run that hangs (an agent that started instead of printing its usage). */
function tracewell(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : err.signal) : 0, stdout, stderr });
    });
  });
}

const COMMANDS = ['agent', 'dlq', 'doctor', 'profile'];

for (const command of COMMANDS) {
  for (const flag of ['--help', '-h']) {
    test(`tracewell ${command} ${flag}: the usage of ${command} on stdout, exit code 0`, async () => {
      const r = await tracewell([command, flag]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`^usage: tracewell ${command} `));
      assert.doesNotMatch(r.stdout + r.stderr, /unknown option/);
      assert.equal(r.stderr, '');
    });
  }
}

test('--help after other arguments, and `tracewell help <command>`, print the same usage', async () => {
  const alone = await tracewell(['profile', '--help']);
  for (const args of [['profile', 'top', 'some.pb.gz', '--help'], ['dlq', 'ls', '-h'], ['help', 'profile']]) {
    const r = await tracewell(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    if (args[0] === 'profile' || args[1] === 'profile') assert.equal(r.stdout, alone.stdout, args.join(' '));
    else assert.match(r.stdout, /^usage: tracewell dlq /);
  }
});

test('an unknown option still exits 2 with the usage', async () => {
  const unknownOption = { agent: ['agent', '--nope'], dlq: ['dlq', 'ls', '--nope'], doctor: ['doctor', '--nope'], profile: ['profile', 'top', 'x.pb.gz', '--nope'] };
  for (const command of COMMANDS) {
    const r = await tracewell(unknownOption[command]);
    assert.equal(r.code, 2, `${command}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, /unknown option --nope/, command);
    assert.match(r.stdout + r.stderr, new RegExp(`tracewell ${command} `), `${command}: the usage is printed`);
  }
  const unknown = await tracewell(['nope', '--help']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "nope"/);
});

// A real RabbitMQ node (Debian's `rabbitmq-server` package) for one test file. Everything it
// writes lives in a temporary folder: the node's database and logs, the enabled-plugins file
// (none), the Erlang cookie (HOME). It gets a unique node name, a free AMQP port, a free
// distribution port and its own Erlang port mapper (epmd) on a free port, which we start in
// the foreground so that `stop()` ends it too (RabbitMQ would otherwise start a daemon that
// outlives the test). The node takes seconds to boot: start it once per test file, in `before`.
// When it cannot start, `startRabbit()` rejects with the reason and the node's log. When one of
// its three ports was taken between our look and the node's bind, it starts again on new ports
// (at most 3 tries; `attempts` on the result says how many it took).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './free-port.mjs';

// The package's own script, not the /usr/sbin wrapper: that one switches to the rabbitmq user,
// who cannot write into our temporary folder.
const SERVER = process.env.RABBITMQ_SERVER_BIN || (existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server') ? '/usr/lib/rabbitmq/bin/rabbitmq-server' : 'rabbitmq-server');
const EPMD = process.env.EPMD_BIN || 'epmd';

function installed() {
  return existsSync(SERVER) || spawnSync('sh', ['-c', `command -v ${SERVER}`]).status === 0;
}

// What the node or epmd print when a port they were given is in use.
const PORT_TAKEN = /dist_port_already_used|eaddrinuse|address already in use|failed to bind|cannot listen/i;

/**
 * Starts a node; resolves with { port, distPort, epmdPort, attempts, url, dir, stop(), log() }.
 * `ports` ({ port, distPort, epmdPort }) fixes the first try's ports (the harness's own test
 * hands it a taken one); later tries always draw new ones.
 */
export async function startRabbit({ timeoutMs = 60_000, ports = {} } = {}) {
  if (!installed()) {
    throw new Error(`rabbitmq-server could not be found (${SERVER}): install Debian's rabbitmq-server package (apt-get install rabbitmq-server) or set RABBITMQ_SERVER_BIN`);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      const node = await startOnce(timeoutMs, attempt === 1 ? ports : {});
      return { ...node, attempts: attempt };
    } catch (err) {
      if (attempt >= 3 || !PORT_TAKEN.test(err.message)) throw err;
    }
  }
}

async function startOnce(timeoutMs, given) {
  const port = given.port ?? (await freePort());
  const distPort = given.distPort ?? (await freePort());
  const epmdPort = given.epmdPort ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'tw-rabbit-'));
  const home = join(dir, 'home');
  mkdirSync(home);
  mkdirSync(join(dir, 'log'));
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir, 'rabbitmq.conf'), 'loopback_users = none\n');
  const name = `tw${process.pid}x${port}`;
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_NODENAME: `${name}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_LOGS: join(dir, 'log', 'node.log'),
    RABBITMQ_PID_FILE: join(dir, 'node.pid'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    ERL_CRASH_DUMP: join(dir, 'erl_crash.dump'),
  };
  let log = '';
  const epmd = spawn(EPMD, ['-port', String(epmdPort), '-address', '127.0.0.1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  epmd.stderr.setEncoding('utf8').on('data', (d) => (log += `[epmd] ${d}`));
  const epmdExited = new Promise((resolve) => epmd.once('exit', resolve));
  epmd.once('error', (err) => (log += `[epmd] ${err.message}\n`));
  // Its own process group, so that stop() reaches the Erlang VM under the start script.
  const child = spawn(SERVER, [], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout.setEncoding('utf8').on('data', (d) => (log += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let dead = null;
  child.once('exit', (code, signal) => (dead = `rabbitmq-server exited (${code ?? signal}) before accepting connections on port ${port}`));
  child.once('error', (err) => (dead = `rabbitmq-server could not be started: ${err.message}`));
  const nodeLog = () => {
    try {
      return readdirSync(join(dir, 'log'))
        .map((f) => readFileSync(join(dir, 'log', f), 'utf8'))
        .join('\n')
        .slice(-4000);
    } catch {
      return '';
    }
  };
  // The node runs in its own process group, which would outlive this process if it died
  // without calling stop(): end it (and epmd) when this process exits, whatever the way.
  const onExit = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
    try {
      epmd.kill('SIGKILL');
    } catch {}
  };
  process.once('exit', onExit);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {}
      const t = setTimeout(() => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {}
      }, 5000);
      await exited;
      clearTimeout(t);
    }
    if (epmd.exitCode === null && epmd.signalCode === null) {
      epmd.kill('SIGKILL');
      await epmdExited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, timeoutMs, () => dead);
  } catch (err) {
    const detail = `${log.slice(-3000)}\n${nodeLog()}`;
    await stop();
    throw new Error(`RabbitMQ did not start: ${err.message}\n${detail}`);
  }
  return { port, distPort, epmdPort, host: '127.0.0.1', url: `amqp://guest:guest@127.0.0.1:${port}`, dir, stop, log: () => log + nodeLog() };
}

// What running a traced request's listeners in its span's context costs per request, in one
// process and without sockets, so that it resolves tens of nanoseconds (a server-level run
// cannot on a shared 2-core machine). The events are the ones Node 20 emits for one request
// (response: socket, prefinish, finish, close; request: readable, resume, end, close; plus two
// 'data' with a body), on a request and response that carry Node's own listeners (res
// 'finish', req 'end').
//
// Scenarios:
//   hello    a GET answered at once: no listeners of the handler's, every event already in
//            the span's context (the hello-world benchmark's case)
//   body     the handler listens to req 'data'/'end' and res 'finish', and the events come
//            from outside the span's context, as the socket's do (what the fix is for)
//   bind     per-request set-up: a new request and response each time, and for the `bind`
//            variant the two bind() calls (the events as in `hello`)
// Variants, each in its own process, alternated over rounds:
//   off      Node's emit (in `body`, the listeners see no span: the bug)
//   emit     Tracewell's wrapper of IncomingMessage/ServerResponse#emit, from dist/ (what ships)
//   bind     OpenTelemetry's way: the context manager's bind(span, emitter) on the request and
//            the response of every request (Tracewell's AlsContextManager#bind, from dist/)
// Prints CPU ns per request (collections included), the median over rounds, and the
// difference to `off`. Usage: node benchmarks/http-overhead/listener-context.cjs [--rounds 5]
// (with another node binary for another line; `npm run build` first).
'use strict';
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

const dist = join(__dirname, '..', '..', 'dist', 'cjs');
const RUNS = [
  ['hello', 'off'],
  ['hello', 'emit'],
  ['body', 'off'],
  ['body', 'emit'],
  ['bind', 'off'],
  ['bind', 'emit'],
  ['bind', 'bind'],
];

function child(scenario, variant) {
  const http = require('node:http');
  const { storage, AlsContextManager } = require(join(dist, 'tracer', 'context.js'));
  const server = require(join(dist, 'tracer', 'instrumentations', 'http-server.js'));
  if (variant === 'emit') server.enableHttpServer({}, { urlQuery: false });
  const manager = new AlsContextManager();
  // A span as the server makes it: a context node.
  const span = { getValue: () => undefined, setValue: () => span, deleteValue: () => span };
  const noop = () => {};
  let seen = 0;
  const listener = () => {
    if (storage.getStore() === span) seen++;
  };

  function message() {
    const req = new http.IncomingMessage(null);
    const res = new http.ServerResponse(req);
    res.on('finish', noop); // Node's resOnFinish, added before the 'request' event
    req.on('end', noop); // Node's clearIncoming
    req[server.kSpan] = span;
    if (variant === 'bind') {
      manager.bind(span, req);
      manager.bind(span, res);
    }
    if (scenario === 'body') {
      // EventEmitter's own `on`: Readable's would start the stream flowing on 'data'.
      const on = require('node:events').prototype.on;
      on.call(req, 'data', listener);
      on.call(req, 'end', listener);
      on.call(res, 'finish', listener);
    }
    return { req, res };
  }
  function emitAll(m) {
    const { req, res } = m;
    if (scenario === 'body') {
      req.emit('data', 'chunk');
      req.emit('data', 'chunk');
    }
    res.emit('socket', null);
    res.emit('prefinish');
    res.emit('finish');
    res.emit('close');
    req.emit('readable');
    req.emit('resume');
    req.emit('end');
    req.emit('close');
  }
  const pool = scenario === 'bind' ? [] : Array.from({ length: 64 }, message);
  const N = scenario === 'bind' ? 100_000 : 1_000_000;
  const loopIn = () => {
    if (scenario === 'bind') for (let i = 0; i < N; i++) emitAll(message());
    else for (let i = 0; i < N; i++) emitAll(pool[i & 63]);
  };
  // hello and bind: everything inside the span's context; body: everything outside it.
  const loop = () => (scenario === 'body' ? loopIn() : storage.run(span, loopIn));
  for (let i = 0; i < 3; i++) loop();
  seen = 0;
  const out = [];
  for (let i = 0; i < 5; i++) {
    const c0 = process.cpuUsage();
    loop();
    const c = process.cpuUsage(c0);
    out.push(((c.user + c.system) * 1000) / N);
  }
  out.sort((a, b) => a - b);
  // Listener calls that saw the span, per request.
  process.stdout.write(JSON.stringify({ ns: out[2], seen: seen / (5 * N) }));
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4]);
} else {
  const at = process.argv.indexOf('--rounds');
  const rounds = at > 0 ? Number(process.argv[at + 1]) : 5;
  const results = {};
  for (let r = 0; r < rounds; r++) {
    for (const [scenario, variant] of RUNS) {
      const got = JSON.parse(execFileSync(process.execPath, [__filename, '--child', scenario, variant], { encoding: 'utf8' }));
      ((results[scenario] ??= {})[variant] ??= []).push(got);
    }
    process.stderr.write(`round ${r + 1}/${rounds}\n`);
  }
  const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  console.log(`\nlistener-context: Node ${process.version}, CPU ns per request, median [min, max] of ${rounds} rounds (each round the median of 5 loops)\n`);
  console.log('| scenario | variant | ns/request | added vs off, per round | handler listener calls in the span |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [scenario, variant] of RUNS) {
    const runs = results[scenario][variant];
    const off = results[scenario].off;
    const added = runs.map((x, i) => x.ns - off[i].ns);
    const seen = scenario === 'body' ? `${median(runs.map((x) => x.seen))} of 4` : '';
    const span = (a) => `${median(a).toFixed(0)} [${Math.min(...a).toFixed(0)}, ${Math.max(...a).toFixed(0)}]`;
    console.log(`| ${scenario} | ${variant} | ${span(runs.map((x) => x.ns))} | ${variant === 'off' ? '' : span(added)} | ${seen} |`);
  }
}

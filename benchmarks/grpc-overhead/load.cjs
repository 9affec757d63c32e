// Unary calls from an untraced grpc-js client in its own process, to 127.0.0.1 only:
// --connections concurrent callers on one channel, closed loop (or paced with --rate), for a
// ramp plus a window (see ../lib/load-loop.cjs). Each call carries a traceparent in its
// metadata, as from a traced caller.
'use strict';
const { createRequire } = require('node:module');
const { join } = require('node:path');
const grpc = createRequire(join(__dirname, '..', '..', 'package.json'))('@grpc/grpc-js');
const { definition } = require('./service.cjs');
const { loadOptions, runLoadProcess } = require('../lib/load-loop.cjs');

const options = loadOptions();
const Client = grpc.makeGenericClientConstructor(definition, 'MemberService');
const client = new Client(`127.0.0.1:${options.port}`, grpc.credentials.createInsecure());
const request = { member_no: '42' };

function issue() {
  return new Promise((resolve, reject) => {
    const md = new grpc.Metadata();
    md.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    client.getMemberInfo(request, md, { deadline: Date.now() + 10_000 }, (err) => (err ? reject(err) : resolve()));
  });
}

runLoadProcess({ options, issue, close: async () => client.close() });

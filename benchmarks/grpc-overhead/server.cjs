// A unary gRPC service under test (static service definition, JSON messages) on 127.0.0.1
// and a free port. Speaks the harness's IPC (../lib/serve-usage.cjs): reports its port, and
// on request its cumulative CPU time, RSS and calls served.
'use strict';
const { createRequire } = require('node:module');
const { join } = require('node:path');
// grpc-js from the repository root, the copy Tracewell's tests use.
const grpc = createRequire(join(__dirname, '..', '..', 'package.json'))('@grpc/grpc-js');
const { definition } = require('./service.cjs');
const { serveUsage, announce } = require('../lib/serve-usage.cjs');

let served = 0;
const server = new grpc.Server();
server.addService(definition, {
  getMemberInfo(call, callback) {
    served++;
    callback(null, { member_no: call.request.member_no, name: 'Ada' });
  },
});
serveUsage(() => served);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  announce(port);
});

// A unary gRPC service under test (static service definition, JSON messages). Reports its
// port over IPC; on 'start'/'stop' it reports CPU time and calls served in between.
'use strict';
const grpc = require('@grpc/grpc-js');
const { definition } = require('./service.cjs');

let served = 0;
const server = new grpc.Server();
server.addService(definition, {
  getMemberInfo(call, callback) {
    served++;
    callback(null, { member_no: call.request.member_no, name: 'Ada' });
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.send({ port });
});
let cpu0;
let served0 = 0;
process.on('message', (m) => {
  if (m === 'start') {
    cpu0 = process.cpuUsage();
    served0 = served;
  } else if (m === 'stop') {
    const cpu = process.cpuUsage(cpu0);
    process.send({ cpuMicros: cpu.user + cpu.system, requests: served - served0, rss: process.memoryUsage().rss });
  } else if (m === 'exit') process.exit(0);
});

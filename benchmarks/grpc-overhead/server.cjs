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
require('../lib/pacer.cjs').reportUsage(() => served);

// The member service: gRPC (@grpc/grpc-js + @grpc/proto-loader), CommonJS, started with
// `node --require tracewell/register examples/member-service/server.cjs`. GetMemberInfo is
// unary; ListVisits streams a member's visits.
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const pkg = grpc.loadPackageDefinition(loader.loadSync(path.join(__dirname, 'member.proto'), { keepCase: true }));
const members = { 1: 'Ada Lovelace', 2: 'Grace Hopper' };

const server = new grpc.Server();
server.addService(pkg.member.v1.MemberService.service, {
  getMemberInfo(call, callback) {
    const name = members[call.request.member_no];
    if (!name) return callback({ code: grpc.status.NOT_FOUND, details: `member ${call.request.member_no} not found` });
    setTimeout(() => callback(null, { member_no: call.request.member_no, name }), 2);
  },
  listVisits(call) {
    let n = 0;
    const timer = setInterval(() => {
      call.write({ member_no: call.request.member_no, n: ++n });
      if (n === 3) {
        clearInterval(timer);
        call.end();
      }
    }, 2);
  },
  uploadVisits(call, callback) {
    let count = 0;
    call.on('data', () => count++);
    call.on('end', () => callback(null, { count }));
  },
  chat(call) {
    call.on('data', (v) => call.write(v));
    call.on('end', () => call.end());
  },
});
server.bindAsync(`127.0.0.1:${process.env.PORT ?? 50051}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  if (process.send) process.send({ service: 'member-service', port });
  else process.stdout.write(`member-service listening on 127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));

// Unary calls made with node:http2 directly, the request bytes framed once: the same HTTP/2
// requests a grpc-js client sends (POST to the method's path, `content-type:
// application/grpc`, `te: trailers`, a traceparent, one length-prefixed message), for a
// fraction of its CPU per call, so that one load process can keep two servers busy (grpc-js's
// own client costs about what its server does, and left the paired servers at 28% of their
// CPU). A call counts once its trailers say `grpc-status: 0`. Options as load.cjs
// (../lib/load-loop.cjs): --connections concurrent callers on one HTTP/2 session.
'use strict';
const http2 = require('node:http2');
const { loadOptions, runLoadProcess } = require('../lib/load-loop.cjs');

const options = loadOptions();
const session = http2.connect(`http://127.0.0.1:${options.port}`);
session.on('error', () => {});
const message = Buffer.from(JSON.stringify({ member_no: '42' }));
const frame = Buffer.alloc(5 + message.length);
frame.writeUInt32BE(message.length, 1);
message.copy(frame, 5);
const headers = {
  ':method': 'POST',
  ':path': '/member.v1.MemberService/GetMemberInfo',
  'content-type': 'application/grpc',
  te: 'trailers',
  'grpc-timeout': '10S',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
};

function issue() {
  return new Promise((resolve, reject) => {
    const req = session.request(headers);
    let status = null;
    req.on('trailers', (t) => (status = t['grpc-status']));
    req.on('response', (h) => {
      if (h['grpc-status'] !== undefined) status = h['grpc-status'];
    });
    req.on('data', () => {});
    req.on('end', () => (status === '0' ? resolve() : reject(new Error(`grpc-status ${status}`))));
    req.on('error', reject);
    req.end(frame);
  });
}

runLoadProcess({ options, issue, close: async () => session.close() });

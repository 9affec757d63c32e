// The floor any tracer that propagates async context pays: every 'request' emit runs inside
// AsyncLocalStorage.run, and nothing else happens.
'use strict';
const { AsyncLocalStorage } = require('node:async_hooks');
const http = require('node:http');

const als = new AsyncLocalStorage();
const emit = http.Server.prototype.emit;
const call = (self, type, req, res) => emit.call(self, type, req, res);
http.Server.prototype.emit = function (type, req, res) {
  if (type !== 'request') return emit.apply(this, arguments);
  return als.run({ request: true }, call, this, type, req, res);
};

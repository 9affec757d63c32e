// The users API: a Fastify service with path parameters that calls the profiles service
// with fetch and the member service over gRPC, reads its accounts from PostgreSQL
// (accounts.mjs; in memory when no server is configured) and, when REDIS_URL is set, caches
// each user in Redis (ioredis) for 30 s. Started with
// `node --import tracewell/register examples/users-api/server.mjs`: no tracing code in here.
import Fastify from 'fastify';
import grpc from '@grpc/grpc-js';
import loader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { openAccounts } from './accounts.mjs';

const profilesUrl = process.env.PROFILES_URL ?? 'http://127.0.0.1:3001';
const serviceToken = process.env.PROFILES_TOKEN ?? 'demo-service-token';
const proto = fileURLToPath(new URL('../member-service/member.proto', import.meta.url));
const { member } = grpc.loadPackageDefinition(loader.loadSync(proto, { keepCase: true }));
const members = new member.v1.MemberService(process.env.MEMBER_SERVICE ?? '127.0.0.1:50051', grpc.credentials.createInsecure());

const getMemberInfo = (memberNo) =>
  new Promise((resolve) => members.getMemberInfo({ member_no: memberNo }, (err, res) => resolve(err ? null : res)));

// The cache: a GET before the work, a SET after it; without REDIS_URL, no cache.
const redis = process.env.REDIS_URL ? new (await import('ioredis')).default(process.env.REDIS_URL) : null;

const accounts = openAccounts();
const app = Fastify();

// Who is calling: a stand-in for real authentication.
function authenticate(request) {
  const apiKey = request.headers['x-api-key'] ?? '';
  return { client: apiKey ? 'demo-client' : 'anonymous', apiKey, scopes: ['users:read'] };
}

app.get('/users/:id', async (request, reply) => {
  const caller = authenticate(request);
  const { id } = request.params;
  if (id === 'boom') throw new Error('database connection lost');
  const cached = redis && (await redis.get(`user:${id}`));
  if (cached) return { ...JSON.parse(cached), for: caller.client, cached: true };
  const [res, membership, account] = await Promise.all([
    fetch(`${profilesUrl}/profiles/${encodeURIComponent(id)}?fields=all`, { headers: { authorization: `Bearer ${serviceToken}` } }),
    getMemberInfo(id),
    accounts.find(id),
  ]);
  if (res.status === 404) return reply.code(404).send({ error: `user ${id} not found` });
  const user = { id, ...(await res.json()), member: membership?.name ?? null, account, suggested: suggestions(id) };
  await redis?.set(`user:${id}`, JSON.stringify(user), 'EX', 30);
  return { ...user, for: caller.client };
});

// Slow on purpose, so the demo's profile has a hot spot to find: a made-up ranking that spins
// through a few million steps per request (the flame graph at /ui/profiles shows it on top).
function suggestions(id) {
  let h = 2166136261;
  for (let i = 0; i < 6_000_000; i++) h = Math.imul(h ^ (i + id.length), 16777619);
  return [(h >>> 0) % 100, (h >>> 8) % 100];
}

app.get('/users/:id/visits', async (request) => {
  const visits = [];
  await new Promise((resolve, reject) => {
    const stream = members.listVisits({ member_no: request.params.id });
    stream.on('data', (v) => visits.push(v.n));
    stream.on('error', reject);
    stream.on('end', resolve);
  });
  return { id: request.params.id, visits };
});

app.get('/health', async () => ({ ok: true }));

const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
if (process.send) process.send({ service: 'users-api', port: app.server.address().port });
else process.stdout.write(`users-api listening on ${address}\n`);
process.on('SIGTERM', () => app.close().then(() => (redis?.disconnect(), process.exit(0))));

// The users API: a Fastify service with path parameters that calls a second service with
// fetch. Started with `node --import tracewell/register examples/users-api/server.mjs`:
// no tracing code in here.
import Fastify from 'fastify';

const profilesUrl = process.env.PROFILES_URL ?? 'http://127.0.0.1:3001';
const app = Fastify();

app.get('/users/:id', async (request, reply) => {
  const { id } = request.params;
  if (id === 'boom') throw new Error('database connection lost');
  const res = await fetch(`${profilesUrl}/profiles/${encodeURIComponent(id)}?fields=all`);
  if (res.status === 404) return reply.code(404).send({ error: `user ${id} not found` });
  const profile = await res.json();
  return { id, ...profile };
});

app.get('/health', async () => ({ ok: true }));

const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
if (process.send) process.send({ service: 'users-api', port: app.server.address().port });
else process.stdout.write(`users-api listening on ${address}\n`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));

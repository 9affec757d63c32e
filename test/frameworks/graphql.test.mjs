// GraphQL (Apollo Server standalone, mercurius), ESM and CJS: a graphql.execute span per
// operation, named by its type and name, with its literals obfuscated; a failing resolver
// recorded on it although the HTTP answer is 200; resolver spans only when asked, to a depth.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { frameworkHarness } from './helpers.mjs';

const h = frameworkHarness();
after(() => h.close());

const QUERY = 'query GetMember {\n  member(id: "7") { id name team { name } }\n}';
const MUTATION = 'mutation Rename($id: ID!) { renameMember(id: $id, name: "Grace", ) { id } } # rename';
const post = (query, variables) => ['/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) }];

async function runOperations(entry, server, service, env = {}) {
  const a = await h.agent();
  // Two requests to the same path: the harness keys responses by path, so send them one by one.
  const first = await h.run(entry, { service, env: { SERVER: server, ...env }, requests: [post(QUERY), post(MUTATION, { id: '9' })] });
  await a.waitFor(() => a.allSpans().filter((s) => s.service === service && s.name === 'graphql.execute').length >= 2, 10_000).catch(() => {
    throw new Error(`no graphql.execute spans; seen: ${a.allSpans().filter((s) => s.service === service).map((s) => `${s.name}:${s.resource}`).join(', ')}\n${first.stderr}`);
  });
  const spans = a.allSpans().filter((s) => s.service === service);
  return { ...first, spans };
}

for (const server of ['apollo', 'mercurius']) {
  for (const entry of ['graphql.mjs', 'graphql.cjs']) {
    test(`GraphQL on ${server} (${entry}): operations, resolver errors`, async () => {
      const service = `gql-${server}-${entry.replace('.', '-')}`;
      const { spans, responses } = await runOperations(entry, server, service);
      const executes = spans.filter((s) => s.name === 'graphql.execute');
      assert.equal(executes.length, 2, executes.map((s) => s.resource).join(', '));

      const query = executes.find((s) => s.resource === 'query GetMember');
      assert.ok(query, `a query GetMember span; resources: ${executes.map((s) => s.resource)}`);
      assert.equal(query.type, 'graphql');
      assert.equal(query.meta['graphql.operation.type'], 'query');
      assert.equal(query.meta['graphql.operation.name'], 'GetMember');
      assert.equal(query.meta['graphql.source'], 'query GetMember {\n  member(id: "?") { id name team { name } }\n}');
      assert.ok(!query.meta['graphql.source'].includes('"7"'), 'the literal is not in the span');
      assert.equal(query.error, 0);
      const httpSpan = spans.find((s) => s.span_id === query.parent_id);
      assert.ok(httpSpan, 'the execute span is a child of a span of this service');
      assert.equal(httpSpan.meta['span.kind'], 'server');
      assert.equal(spans.filter((s) => s.name === 'graphql.resolve').length, 0, 'no resolver spans by default');

      const mutation = executes.find((s) => s.resource === 'mutation Rename');
      assert.ok(mutation, `a mutation Rename span; resources: ${executes.map((s) => s.resource)}`);
      assert.equal(mutation.meta['graphql.operation.type'], 'mutation');
      assert.equal(mutation.meta['graphql.source'], 'mutation Rename($id: ID!) { renameMember(id: $id, name: "?", ) { id } } ');
      assert.equal(mutation.error, 1);
      assert.equal(mutation.meta['error.type'], 'RenameRefused');
      assert.equal(mutation.meta['error.message'], 'member 9 is locked');
      assert.match(mutation.meta['error.stack'], /member 9 is locked\n\s+at /);
      const mutationHttp = spans.find((s) => s.span_id === mutation.parent_id);
      assert.equal(mutationHttp.meta['http.status_code'], '200', 'the HTTP answer is a 200');
      assert.equal(mutationHttp.error, 0);
      assert.match(responses.get('/graphql').body, /member 9 is locked/);
    });
  }
}

test('GraphQL resolver spans: on with TRACEWELL_GRAPHQL_RESOLVER_SPANS, down to TRACEWELL_GRAPHQL_RESOLVER_DEPTH', async () => {
  const service = 'gql-resolvers';
  const { spans } = await runOperations('graphql.cjs', 'apollo', service, { TRACEWELL_GRAPHQL_RESOLVER_SPANS: 'true', TRACEWELL_GRAPHQL_RESOLVER_DEPTH: '2' });
  const query = spans.find((s) => s.resource === 'query GetMember');
  const resolves = spans.filter((s) => s.name === 'graphql.resolve' && s.trace_id === query.trace_id);
  const byPath = new Map(resolves.map((s) => [s.meta['graphql.field.path'], s]));
  assert.deepEqual([...byPath.keys()].sort(), ['member', 'member.id', 'member.name', 'member.team'], 'depth 2: team.name (depth 3) has none');
  assert.equal(byPath.get('member').parent_id, query.span_id);
  assert.equal(byPath.get('member').resource, 'member:Member');
  assert.equal(byPath.get('member.team').parent_id, byPath.get('member').span_id);
  assert.equal(byPath.get('member.team').meta['graphql.field.type'], 'Team');

  const mutation = spans.find((s) => s.resource === 'mutation Rename');
  const rename = spans.find((s) => s.name === 'graphql.resolve' && s.trace_id === mutation.trace_id);
  assert.equal(rename.resource, 'renameMember:Member');
  assert.equal(rename.error, 1);
  assert.equal(rename.meta['error.type'], 'RenameRefused');
});

test('GraphQL with DD_TRACE_GRAPHQL_ENABLED=false: no graphql spans', async () => {
  const service = 'gql-off';
  const { servers, spans } = await h.run('graphql.cjs', { service, env: { SERVER: 'mercurius', DD_TRACE_GRAPHQL_ENABLED: 'false' }, requests: [post(QUERY)] });
  assert.equal(servers.length, 1);
  assert.equal(spans.filter((s) => s.name.startsWith('graphql')).length, 0);
});

/**
 * Our spans as `@opentelemetry/sdk-trace-base` ReadableSpans, so any SpanProcessor and
 * SpanExporter of the OTel SDK (Simple/Batch processors, InMemory/Console/OTLP exporters)
 * can be plugged in with the `spanProcessors` option. Integration fields come out under
 * OpenTelemetry semantic-convention names. Built only when a processor is configured.
 */
import { type Attributes, type AttributeValue, type Link, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import type { TracerConfig } from '../config/slices';
import { toHrTime } from './clock';
import { hex32 } from './ids';
import type { FinishedSpan } from './finished-span';
import { TRACER_VERSION } from '../internal/version';
import { KIND_SERVER } from './kinds';

type Resource = ReadableSpan['resource'];

/** A fixed resource: service.name, service.version, deployment.environment.name and the tags. */
export function makeResource(config: TracerConfig): Resource {
  const attributes: Attributes = { 'service.name': config.service, 'telemetry.sdk.name': 'tracewell', 'telemetry.sdk.language': 'nodejs', 'telemetry.sdk.version': TRACER_VERSION };
  if (config.version) attributes['service.version'] = config.version;
  if (config.env) attributes['deployment.environment.name'] = config.env;
  for (const [k, v] of Object.entries(config.tags)) attributes[k] = v;
  const resource: Resource = {
    attributes,
    merge: (other) => (other === null ? resource : { ...resource, attributes: { ...attributes, ...other.attributes } }),
    getRawAttributes: () => Object.entries(attributes),
  };
  return resource;
}

/** Datadog tag names set by our integrations, and the OpenTelemetry semantic-convention names they go out under. */
const OTEL_NAMES: Record<string, string> = {
  'grpc.status.code': 'rpc.grpc.status_code',
  'redis.raw_command': 'db.query.text',
  'amqp.routingKey': 'messaging.rabbitmq.destination.routing_key',
};

/** Semantic-convention attributes of a span (integration fields + user attributes). */
export function semconvAttributes(s: FinishedSpan): Attributes {
  const a: Attributes = {};
  const server = s.kind === KIND_SERVER;
  if (s.httpMethod) a['http.request.method'] = s.httpMethod;
  if (s.httpRoute) a['http.route'] = s.httpRoute;
  if (s.httpUrl) {
    if (server) {
      const u = new URL(s.httpUrl);
      a['url.scheme'] = u.protocol.slice(0, -1);
      a['url.path'] = u.pathname;
      a['server.address'] = u.hostname;
    } else {
      a['url.full'] = s.httpUrl;
    }
  }
  if (s.httpStatus) a['http.response.status_code'] = s.httpStatus;
  if (s.clientIp) a['client.address'] = s.clientIp;
  if (s.userAgent) a['user_agent.original'] = s.userAgent;
  if (s.peerHost) a['server.address'] = s.peerHost;
  if (s.peerPort) a['server.port'] = s.peerPort;
  if (s.error === 1 && s.errorType) a['error.type'] = s.errorType;
  const list = s.attrs;
  if (list !== null) {
    for (let i = 0; i < s.attrLen; i += 2) {
      const k = list[i] as string;
      // Datadog's names for what OTel names otherwise (the gRPC status, the Redis command...).
      a[OTEL_NAMES[k] ?? k] = list[i + 1] as AttributeValue;
    }
  }
  // Database client spans: the operation (the Redis command) and the system under its current name.
  if (s.type === 'redis') {
    a['db.system.name'] = 'redis';
    a['db.operation.name'] = s.resource;
  }
  if (s.type === 'sql') sqlSemconv(s, a);
  return a;
}

/** SQL spans (sql.ts): the database semantic conventions beside the Datadog tags. */
function sqlSemconv(s: FinishedSpan, a: Attributes): void {
  a['db.query.text'] = s.resource;
  const system = a['db.system'];
  if (system !== undefined) a['db.system.name'] = system;
  const name = a['db.name'];
  if (name !== undefined) a['db.namespace'] = name;
  delete a['db.type'];
  delete a['_dd.peer.service.source'];
  delete a['_dd.dbm_trace_injected'];
}

export function toReadableSpan(s: FinishedSpan, resource: Resource): ReadableSpan {
  const t = s.trace;
  const parentSpanContext: SpanContext | undefined =
    s.parentHi === 0 && s.parentLo === 0
      ? undefined
      : {
          traceId: hex32(t.t0) + hex32(t.t1) + hex32(t.t2) + hex32(t.t3),
          spanId: hex32(s.parentHi) + hex32(s.parentLo),
          traceFlags: (t.priority > 0 ? 1 : 0) | (t.random ? 2 : 0),
          isRemote: !s.localParent,
        };
  const durationMs = Math.max(0, s.endAt - s.start);
  const events: TimedEvent[] = (s.events ?? []).map((e) => ({ name: e.name, time: toHrTime(e.time), attributes: e.attributes }));
  return {
    name: s.name,
    kind: s.kind,
    spanContext: () => s.spanContext(),
    parentSpanContext,
    startTime: toHrTime(s.start),
    endTime: toHrTime(s.endAt),
    status: { code: s.statusCode !== 0 ? s.statusCode : s.error === 1 ? 2 : 0, message: s.statusMessage || s.errorMessage || undefined },
    attributes: semconvAttributes(s),
    // The span's own list, not a copy (ReadableSpan types it mutable; processors only read it).
    links: (s.links ?? []) as Link[],
    events,
    duration: [Math.floor(durationMs / 1000), Math.round((durationMs % 1000) * 1e6)],
    ended: s.endAt >= 0,
    resource,
    instrumentationScope: { name: s.component || 'tracewell', version: TRACER_VERSION },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

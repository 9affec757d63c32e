// Type tests (ESM): the shipped declarations allow what the docs show and refuse misuse.
import { init, getHandle, Codes, type TracewellOptions, type TracewellStats } from 'tracewell';

const options: TracewellOptions = { service: 'svc', env: 'prod', sampleRate: 0.5, propagationInject: ['tracecontext', 'datadog'], logLevel: 'debug' };
const handle = init(options);
const flushed: Promise<void> = handle.flush();
const stats: TracewellStats = handle.stats();
const started: number = stats.spansStarted;
const dropped: number = stats.dropped.bufferFull;
const code: string = Codes.CONFIG_INVALID;
const same = getHandle();
void [flushed, started, dropped, code, same];

// @ts-expect-error sampleRate is a number
init({ sampleRate: 'half' });
// @ts-expect-error an unknown propagation style is refused
init({ propagationExtract: ['zipkin'] });

// An OpenTelemetry SDK span processor fits `spanProcessors` (the SDK is the app's own dependency, not ours).
import { SimpleSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
init({ spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] });
// @ts-expect-error a processor needs onEnd, forceFlush and shutdown
init({ spanProcessors: [{ onStart() {} }] });

// Sampling rules, ignored paths, header tags, runtime metrics.
import type { SamplingRule } from 'tracewell';
const rules: SamplingRule[] = [{ resource: 'GET /users/:id', sampleRate: 1 }, { service: 'api-*', tags: { tenant: 'acme' }, sampleRate: 0.1, maxPerSecond: 5 }];
init({ samplingRules: rules, spanSamplingRules: [{ name: 'http.request' }], httpIgnorePaths: ['/healthz'], httpClientIgnoreUrls: ['*/metrics'], headerTags: { 'x-tenant-id': 'tenant' }, runtimeMetrics: true });
// @ts-expect-error a rule's patterns are strings
init({ samplingRules: [{ resource: /users/, sampleRate: 1 }] });

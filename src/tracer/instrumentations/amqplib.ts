/**
 * amqplib (promise and callback APIs, which share one channel implementation): a producer
 * span per published message, its context written into the message headers, and a consumer
 * span per delivered message, continuing the producer's trace, around the consumer callback.
 *
 * The patch (first half) only publishes:
 * - `Channel#sendMessage` (where `publish` and `sendToQueue` of both APIs end up) publishes
 *   the fields and properties of the message before it is written, on
 *   `CHANNELS.amqplibPublishStart` (a subscriber may add headers), and once written on
 *   `CHANNELS.amqplibPublishFinish`;
 * - `BaseChannel#dispatchMessage` (every delivery to a consumer) runs the consumer callback
 *   through `CHANNELS.amqplibDeliverStart`'s `runStores`, so a subscriber that bound a store
 *   gives the callback its context, and publishes `CHANNELS.amqplibDeliverFinish` when the
 *   callback returned (or the promise it returned settled).
 * With nobody subscribed, the patch calls through and does nothing else.
 *
 * The subscriber (second half) makes the spans; if it fails, the integration turns itself off
 * with one message, and messages go on untouched.
 */
import dc = require('node:diagnostics_channel');
import type { Context } from '@opentelemetry/api';
import { SpanKind } from '@opentelemetry/api';
import { now } from '../clock';
import { activeContext, isSuppressed, storage } from '../context';
import type { TwSpan } from '../span';
import type { TracerCore } from '../tracer';
import { addPatcher, wrapMethod } from './module-hook';
import { CHANNELS, type AmqpDeliverMessage, type AmqpPublishMessage } from './channels';
import { counters } from '../../internal/counters';
import { logger } from '../../internal/logger';
import { Codes } from '../../internal/errors';

// ---------------- the patch: publishes, knows nothing of spans ----------------

const publishStart = dc.channel(CHANNELS.amqplibPublishStart);
const publishFinish = dc.channel(CHANNELS.amqplibPublishFinish);
const deliverStart = dc.channel(CHANNELS.amqplibDeliverStart);
const deliverFinish = dc.channel(CHANNELS.amqplibDeliverFinish);

function wrapSendMessage(original: (this: unknown, fields: object, properties: object, content: unknown) => unknown) {
  return function sendMessage(this: unknown, fields: object, properties: object, content: unknown): unknown {
    if (!publishStart.hasSubscribers || fields === null || typeof fields !== 'object') return original.call(this, fields, properties, content);
    const message: AmqpPublishMessage = { channel: this, fields: fields as AmqpPublishMessage['fields'], properties: (properties ?? fields) as AmqpPublishMessage['properties'], error: undefined, state: undefined };
    publishStart.publish(message);
    try {
      return original.call(this, fields, properties, content);
    } catch (err) {
      message.error = err;
      throw err;
    } finally {
      publishFinish.publish(message);
    }
  };
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

function wrapDispatch(original: (this: unknown, fields: object, message: unknown) => unknown) {
  return function dispatchMessage(this: unknown, fields: object, msg: unknown): unknown {
    // A null message is a cancellation, not a delivery.
    if (!deliverStart.hasSubscribers || msg === null || typeof msg !== 'object') return original.call(this, fields, msg);
    const message: AmqpDeliverMessage = { channel: this, message: msg as AmqpDeliverMessage['message'], error: undefined, state: undefined };
    let result: unknown;
    try {
      result = deliverStart.runStores(message, original, this, fields, msg);
    } catch (err) {
      message.error = err;
      deliverFinish.publish(message);
      throw err;
    }
    if (isThenable(result)) {
      result.then(
        () => deliverFinish.publish(message),
        (err: unknown) => {
          message.error = err;
          deliverFinish.publish(message);
        },
      );
    } else {
      deliverFinish.publish(message);
    }
    return result;
  };
}

function patchChannel(exp: { Channel: { prototype: object }; BaseChannel: { prototype: object } }): void {
  wrapMethod(exp.Channel.prototype, 'sendMessage', wrapSendMessage);
  wrapMethod(exp.BaseChannel.prototype, 'dispatchMessage', wrapDispatch);
}

// ---------------- the subscriber: makes the spans ----------------

let core: TracerCore | null = null;
let on = false;

function failed(err: unknown): void {
  counters.instrumentationErrors++;
  logger.error(`[${Codes.INSTRUMENTATION_DISABLED}] the amqplib integration failed and is now off; messages go on untraced`, err, 'amqplib');
  disableAmqplib();
}

type Headers = Record<string, unknown>;

function setHeader(h: Headers, key: string, value: string): void {
  h[key] = value;
}

function getHeader(h: Headers, key: string): string | undefined {
  const v = h[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

interface Stream {
  remoteAddress?: string;
  remotePort?: number;
}

/** `basic.publish exchange routingKey`, leaving out what is empty (`sendToQueue` publishes to the default exchange ''). */
function resource(method: string, exchange: string | undefined, routingKey: string | undefined): string {
  let r = method;
  if (exchange) r += ' ' + exchange;
  if (routingKey) r += ' ' + routingKey;
  return r;
}

function describe(span: TwSpan, channel: unknown, exchange: string, routingKey: string, operation: string): void {
  span.opName = 'amqp.command';
  span.component = 'amqplib';
  span.setAttribute('messaging.system', 'rabbitmq');
  span.setAttribute('messaging.operation.type', operation);
  span.setAttribute('messaging.destination.name', exchange === '' ? routingKey : exchange);
  span.setAttribute('amqp.exchange', exchange);
  span.setAttribute('amqp.routingKey', routingKey);
  const stream = (channel as { connection?: { stream?: Stream } } | null)?.connection?.stream;
  if (stream !== undefined && stream !== null) {
    if (typeof stream.remoteAddress === 'string') {
      span.peerHost = stream.remoteAddress;
      span.setAttribute('peer.service', stream.remoteAddress);
    }
    if (typeof stream.remotePort === 'number') span.peerPort = stream.remotePort;
  }
}

function onPublishStart(m: unknown): void {
  const c = core;
  if (c === null) return;
  const message = m as AmqpPublishMessage;
  try {
    const parent = activeContext();
    if (isSuppressed(parent)) return;
    const { exchange = '', routingKey = '' } = message.fields;
    const span = c.startSpan('amqp.command', SpanKind.PRODUCER, parent, undefined, now());
    span.name = resource('basic.publish', exchange, routingKey);
    span.resource = span.name;
    span.type = 'queue';
    describe(span, message.channel, exchange, routingKey, 'send');
    const props = message.properties;
    // amqplib gives every publish a headers object of its own (its prototype is the caller's).
    if (props.headers === undefined || props.headers === null) props.headers = {};
    c.inject(span, props.headers, setHeader);
    message.state = span;
  } catch (err) {
    failed(err);
  }
}

/** A publish's or a delivery's end: its span finishes, failed when the message carries an error. */
function onFinish(m: unknown): void {
  const message = m as AmqpPublishMessage | AmqpDeliverMessage;
  const span = message.state as TwSpan | undefined;
  if (span === undefined) return;
  try {
    if (message.error !== undefined) span.fail(message.error);
    span.finish();
  } catch (err) {
    failed(err);
  }
}

/** The consumer span, entered for the callback: the store `deliverStart` binds. */
function deliverContext(m: unknown): Context {
  const current = activeContext();
  const c = core;
  if (c === null) return current;
  const message = m as AmqpDeliverMessage;
  try {
    const { fields, properties } = message.message;
    const headers = properties?.headers;
    const remote = headers !== undefined && headers !== null ? c.propagator.extract(headers, getHeader) : undefined;
    const exchange = fields?.exchange ?? '';
    const routingKey = fields?.routingKey ?? '';
    const span = c.startSpan('amqp.command', SpanKind.CONSUMER, current, remote, now());
    span.name = resource('basic.deliver', exchange, routingKey);
    span.resource = span.name;
    span.type = 'worker';
    describe(span, message.channel, exchange, routingKey, 'process');
    if (typeof fields?.consumerTag === 'string') span.setAttribute('amqp.consumerTag', fields.consumerTag);
    if (fields?.redelivered === true) span.setAttribute('amqp.redelivered', true);
    message.state = span;
    return span;
  } catch (err) {
    failed(err);
    return current;
  }
}

let registered = false;
/** Finish events stay subscribed once they were: spans started before a disable still end. */
let finishing = false;

export function enableAmqplib(c: TracerCore): void {
  core = c;
  if (!on) {
    on = true;
    dc.subscribe(CHANNELS.amqplibPublishStart, onPublishStart);
    deliverStart.bindStore(storage, deliverContext);
  }
  if (!finishing) {
    finishing = true;
    dc.subscribe(CHANNELS.amqplibPublishFinish, onFinish);
    dc.subscribe(CHANNELS.amqplibDeliverFinish, onFinish);
  }
  if (registered) return;
  registered = true;
  addPatcher({
    name: 'amqplib',
    matches: (exp: any) =>
      typeof exp === 'object' &&
      exp !== null &&
      typeof exp.BaseChannel === 'function' &&
      typeof exp.Channel === 'function' &&
      typeof exp.acceptMessage === 'function' &&
      typeof exp.Channel.prototype?.sendMessage === 'function' &&
      typeof exp.BaseChannel.prototype?.dispatchMessage === 'function',
    patch: patchChannel,
  });
}

export function disableAmqplib(): void {
  core = null;
  if (!on) return;
  on = false;
  dc.unsubscribe(CHANNELS.amqplibPublishStart, onPublishStart);
  deliverStart.unbindStore(storage);
}

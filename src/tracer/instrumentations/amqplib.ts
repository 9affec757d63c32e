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
import { now } from '../clock';
import { activeContext, isSuppressed, storage } from '../context';
import type { TwSpan } from '../span';
import { RemoteSpan, type TracerCore } from '../tracer';
import { addPatcher, wrapMethod } from './module-hook';
import { CHANNELS, type AmqpDeliverMessage, type AmqpGetMessage, type AmqpPublishMessage } from './channels';
import { counters } from '../../internal/counters';
import { logger } from '../../internal/logger';
import { Codes } from '../../internal/errors';
import { KIND_CONSUMER, KIND_PRODUCER } from '../kinds';

// ---------------- the patch: publishes, knows nothing of spans ----------------

const publishStart = dc.channel(CHANNELS.amqplibPublishStart);
const publishFinish = dc.channel(CHANNELS.amqplibPublishFinish);
const deliverStart = dc.channel(CHANNELS.amqplibDeliverStart);
const deliverFinish = dc.channel(CHANNELS.amqplibDeliverFinish);
const getStart = dc.channel(CHANNELS.amqplibGetStart);
const getFinish = dc.channel(CHANNELS.amqplibGetFinish);

/** On a confirm channel: the confirmation the next `sendMessage` belongs to (set by `pushConfirmCallback`, which publish calls just before). */
const kConfirm = Symbol('tracewell.amqplib.confirm');
interface PendingConfirm {
  message: AmqpPublishMessage | undefined;
}
type ChannelLike = { [kConfirm]?: PendingConfirm };

/**
 * A confirm channel's publish with a callback: the publish's finish waits for the broker's
 * answer (ack; nack or the channel closing, e.g. on a missing exchange: an error). Publishes
 * without a callback keep amqplib's `false` slot (its close handler stops at the first one),
 * so theirs finish when written, as on a plain channel.
 */
function wrapPushConfirm(original: (this: ChannelLike, cb: unknown) => unknown) {
  return function pushConfirmCallback(this: ChannelLike, cb: unknown): unknown {
    if (!publishStart.hasSubscribers || typeof cb !== 'function') {
      if (this[kConfirm] !== undefined) this[kConfirm] = undefined;
      return original.call(this, cb);
    }
    const pending: PendingConfirm = { message: undefined };
    this[kConfirm] = pending;
    return original.call(this, function confirmed(this: unknown, err: unknown) {
      const m = pending.message;
      if (m !== undefined) {
        pending.message = undefined;
        if (err !== null && err !== undefined) m.error = err;
        publishFinish.publish(m);
      }
      return (cb as (...a: unknown[]) => unknown).apply(this, arguments as unknown as unknown[]);
    });
  };
}

function wrapSendMessage(original: (this: unknown, fields: object, properties: object, content: unknown) => unknown) {
  return function sendMessage(this: ChannelLike, fields: object, properties: object, content: unknown): unknown {
    const pending = this[kConfirm];
    if (pending !== undefined) this[kConfirm] = undefined;
    if (!publishStart.hasSubscribers || fields === null || typeof fields !== 'object') return original.call(this, fields, properties, content);
    const message: AmqpPublishMessage = { channel: this, fields: fields as AmqpPublishMessage['fields'], properties: (properties ?? fields) as AmqpPublishMessage['properties'], error: undefined, state: undefined };
    publishStart.publish(message);
    let threw = true;
    try {
      const result = original.call(this, fields, properties, content);
      threw = false;
      return result;
    } catch (err) {
      message.error = err;
      throw err;
    } finally {
      // Confirmed later (the broker's answer finishes it), unless writing failed now.
      if (pending !== undefined && !threw) pending.message = message;
      else publishFinish.publish(message);
    }
  };
}

/** `channel.get(queue[, options][, callback])` of the promise and callback APIs: basic.get. */
function wrapGet(original: (this: unknown, ...args: unknown[]) => unknown) {
  return function get(this: unknown, queue: unknown, options?: unknown, cb?: unknown): unknown {
    if (!getStart.hasSubscribers) return original.apply(this, arguments as unknown as unknown[]);
    const message: AmqpGetMessage = { channel: this, queue: typeof queue === 'string' ? queue : String(queue), message: undefined, error: undefined, state: undefined };
    getStart.publish(message);
    const done = (err: unknown, msg: unknown): void => {
      if (err !== null && err !== undefined) message.error = err;
      else message.message = msg as AmqpGetMessage['message'];
      getFinish.publish(message);
    };
    if (typeof cb === 'function' || this instanceof callbackChannel) {
      // The callback API: its callback (or one of ours) learns the outcome.
      const callback = function (this: unknown, err: unknown, msg: unknown): unknown {
        done(err, msg);
        return typeof cb === 'function' ? cb.apply(this, arguments as unknown as unknown[]) : undefined;
      };
      return original.call(this, queue, options, callback);
    }
    const result = original.call(this, queue, options);
    if (isThenable(result)) result.then((msg) => done(null, msg), (err: unknown) => done(err, undefined));
    else done(null, undefined);
    return result;
  };
}

/** The callback API's Channel class, once its module was patched: its `get` takes a callback. */
let callbackChannel: new (...args: never[]) => unknown = class Never {};

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
  wrapMethod(exp.Channel.prototype, 'pushConfirmCallback', wrapPushConfirm);
  wrapMethod(exp.BaseChannel.prototype, 'dispatchMessage', wrapDispatch);
}

/** The promise API's (`channel_model`) and the callback API's (`callback_model`) Channel: `get` is theirs. */
function patchModel(exp: { Channel: { prototype: object }; CallbackModel?: unknown }): void {
  if (typeof exp.CallbackModel === 'function') callbackChannel = exp.Channel as typeof callbackChannel;
  wrapMethod(exp.Channel.prototype, 'get', wrapGet);
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
    const span = c.startSpan('amqp.command', KIND_PRODUCER, parent, undefined, now());
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

/** basic.get: a consumer span under the caller's, from the call until the answer. */
function onGetStart(m: unknown): void {
  const c = core;
  if (c === null) return;
  const message = m as AmqpGetMessage;
  try {
    const parent = activeContext();
    if (isSuppressed(parent)) return;
    const span = c.startSpan('amqp.command', KIND_CONSUMER, parent, undefined, now());
    span.name = resource('basic.get', '', message.queue);
    span.resource = span.name;
    span.type = 'worker';
    describe(span, message.channel, '', message.queue, 'receive');
    message.state = span;
  } catch (err) {
    failed(err);
  }
}

/** basic.get answered: what came (the producer's context as a link, where it came from), then the span ends. */
function onGetFinish(m: unknown): void {
  const message = m as AmqpGetMessage;
  const span = message.state as TwSpan | undefined;
  if (span === undefined) return;
  try {
    const got = message.message;
    if (message.error !== undefined) {
      span.fail(message.error);
    } else if (got === false) {
      span.setAttribute('amqp.empty', true);
    } else if (got !== undefined && got !== null) {
      const fields = got.fields;
      if (fields !== undefined) {
        if (typeof fields.exchange === 'string') span.setAttribute('amqp.source.exchange', fields.exchange);
        if (typeof fields.routingKey === 'string') span.setAttribute('amqp.source.routingKey', fields.routingKey);
        if (fields.redelivered === true) span.setAttribute('amqp.redelivered', true);
      }
      const headers = got.properties?.headers;
      const c = core;
      if (c !== null && headers !== undefined && headers !== null) {
        // The caller's trace goes on; the message's producer is linked, not made the parent.
        const remote = c.propagator.extract(headers, getHeader);
        if (remote !== undefined) span.addLink({ context: new RemoteSpan(remote).spanContext(), attributes: { 'messaging.operation.type': 'send' } });
      }
    }
    span.finish();
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
    const span = c.startSpan('amqp.command', KIND_CONSUMER, current, remote, now());
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
    dc.subscribe(CHANNELS.amqplibGetStart, onGetStart);
    deliverStart.bindStore(storage, deliverContext);
  }
  if (!finishing) {
    finishing = true;
    dc.subscribe(CHANNELS.amqplibPublishFinish, onFinish);
    dc.subscribe(CHANNELS.amqplibDeliverFinish, onFinish);
    dc.subscribe(CHANNELS.amqplibGetFinish, onGetFinish);
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
  addPatcher({
    name: 'amqplib channel model',
    matches: (exp: any) =>
      typeof exp === 'object' &&
      exp !== null &&
      (typeof exp.ChannelModel === 'function' || typeof exp.CallbackModel === 'function') &&
      typeof exp.ConfirmChannel === 'function' &&
      typeof exp.Channel?.prototype?.get === 'function',
    patch: patchModel,
  });
}

export function disableAmqplib(): void {
  core = null;
  if (!on) return;
  on = false;
  dc.unsubscribe(CHANNELS.amqplibPublishStart, onPublishStart);
  dc.unsubscribe(CHANNELS.amqplibGetStart, onGetStart);
  deliverStart.unbindStore(storage);
}

/**
 * The dev agent's debugger endpoints: `/debugger/v1/input` (snapshots and probe logs, a JSON
 * array) and `/debugger/v1/diagnostics` (probe statuses, multipart with an `event` part), the
 * way the Datadog Agent takes them. Entries are checked for the fields the intake needs.
 */

export interface ReceivedSnapshot {
  service: string;
  message: string;
  ddsource: string;
  dd?: { trace_id?: string; span_id?: string };
  logger?: { name?: string; method?: string; version?: number; thread_name?: string };
  debugger: { snapshot: { id: string; timestamp: number; probe: { id: string; version: number; location: unknown }; captures?: unknown; evaluationErrors?: unknown } };
}

export interface ReceivedDiagnostic {
  service: string;
  probeId: string;
  runtimeId: string;
  probeVersion: number;
  status: string;
  exception?: { type: string; message: string };
  time: number;
}

/** Parses and checks a snapshot batch; throws with a message naming the bad field. */
export function decodeSnapshots(body: Buffer): ReceivedSnapshot[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new Error(`debugger input is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(doc)) throw new Error('debugger input must be a JSON array');
  return doc.map((e: unknown, i: number) => {
    const x = e as ReceivedSnapshot;
    if (x === null || typeof x !== 'object') throw new Error(`entry ${i} is not an object`);
    if (typeof x.message !== 'string') throw new Error(`entry ${i}: "message" must be a string`);
    if (x.message.length > 8192) throw new Error(`entry ${i}: "message" is over 8 KiB`);
    if (typeof x.service !== 'string') throw new Error(`entry ${i}: "service" must be a string`);
    const s = x.debugger?.snapshot;
    if (s === undefined || typeof s.id !== 'string' || typeof s.timestamp !== 'number') throw new Error(`entry ${i}: "debugger.snapshot" needs an id and a timestamp`);
    if (typeof s.probe?.id !== 'string') throw new Error(`entry ${i}: "debugger.snapshot.probe.id" must be a string`);
    if (x.dd !== undefined && (typeof x.dd.trace_id !== 'string' || typeof x.dd.span_id !== 'string')) throw new Error(`entry ${i}: "dd.trace_id" and "dd.span_id" must be strings`);
    return x;
  });
}

/** Reads the `event` part of a multipart diagnostics body. */
export function decodeDiagnostics(body: Buffer, contentType: string): ReceivedDiagnostic[] {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (m === null) throw new Error('diagnostics must be multipart/form-data with a boundary');
  const boundary = `--${m[1] ?? m[2]}`;
  const text = body.toString('utf8');
  for (const part of text.split(boundary)) {
    const sep = part.indexOf('\r\n\r\n');
    if (sep < 0) continue;
    const head = part.slice(0, sep);
    if (!/name="event"/i.test(head)) continue;
    const payload = part.slice(sep + 4).replace(/\r\n$/, '');
    let doc: unknown;
    try {
      doc = JSON.parse(payload);
    } catch (err) {
      throw new Error(`the "event" part is not JSON: ${(err as Error).message}`);
    }
    const list = Array.isArray(doc) ? doc : [doc];
    return list.map((e: unknown, i: number) => {
      const x = e as { service?: unknown; debugger?: { diagnostics?: Record<string, unknown> } };
      const d = x?.debugger?.diagnostics;
      if (d === undefined || typeof d.probeId !== 'string' || typeof d.status !== 'string') throw new Error(`event ${i}: "debugger.diagnostics" needs probeId and status`);
      if (!['RECEIVED', 'INSTALLED', 'EMITTING', 'ERROR', 'BLOCKED'].includes(d.status)) throw new Error(`event ${i}: unknown status "${d.status}"`);
      return {
        service: String(x.service ?? ''),
        probeId: d.probeId,
        runtimeId: String(d.runtimeId ?? ''),
        probeVersion: Number(d.probeVersion ?? 0),
        status: d.status,
        exception: d.exception as ReceivedDiagnostic['exception'],
        time: Date.now(),
      };
    });
  }
  throw new Error('no "event" part in the diagnostics body');
}

export { startDevAgent, type DevAgent, type DevAgentOptions, type RecordedRequest, type Responder, type ScriptedAnswer } from './server';
export { decodeTraces, DecodeError, type DecodedSpan } from './decode-traces';
export { formatTrace, formatSnapshot, spanTree, traceIdHex, TracePrinter } from './print';
export { AgentStore, DEFAULT_LIMITS, probeTags, traceIdOf, type StoreLimits, type StoredSpan, type StoredTrace, type StoredSnapshot, type ServiceTally } from './store';
export { decodeOtlpTraces, otlpToDecoded, OtlpDecodeError, type OtlpSpan, type OtlpValue } from './decode-otlp';
export { decodeProfileUpload, ProfileDecodeError, type ReceivedProfile } from './decode-profiles';
export { decodePprof, framesOf, type PprofProfile } from '../profiler/pprof';

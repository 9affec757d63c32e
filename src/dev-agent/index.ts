export { startDevAgent, type DevAgent, type DevAgentOptions, type RecordedRequest, type Responder, type ScriptedAnswer } from './server';
export { decodeTraces, DecodeError, type DecodedSpan } from './decode-traces';
export { formatTrace } from './print';
export { decodeOtlpTraces, otlpToDecoded, OtlpDecodeError, type OtlpSpan, type OtlpValue } from './decode-otlp';
export { decodeProfileUpload, ProfileDecodeError, type ReceivedProfile } from './decode-profiles';
export { decodePprof, framesOf, type PprofProfile } from '../profiler/pprof';

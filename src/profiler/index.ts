export { ContinuousProfiler } from './profiler';
export { decodePprof, framesOf, sampleTypeIndex, type PprofProfile, type PprofSample, type PprofFunction, type Frame, type ValueType } from './pprof';
export { buildProfileUpload, parseMultipart, MultipartError, type ProfileEvent, type ParsedPart } from './multipart';
export { LABEL_SPAN_ID, LABEL_LOCAL_ROOT_SPAN_ID, LABEL_TRACE_ENDPOINT } from './labels';
export { top, flameTree, pickType, type Selection, type TopEntry, type FlameNode } from './analyze';

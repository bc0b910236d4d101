export { parseHeader, parseSignalLine, baseTimeSeconds, type RecordHeader, type SignalSpec, type SegmentSpec } from './header.js';
export { decodeSamples, encodeSamples, bytesFor, samplesIn, parseMatV4Header, INVALID_ADC, SUPPORTED_FORMATS } from './formats.js';
export { decodeRecord, readRecord, findSignal, requireSignal, type WfdbRecord, type WfdbSignal, type FileSource } from './record.js';
export { readMultiSegment, readSegmentsByTime, signalSpans, signalJoined, type MultiSegmentRecord, type Segment, type SignalSpan } from './multi-segment.js';
export { resampleLinear, resampledLength, fillGaps, type ResampleOptions } from './resample.js';

/**
 * The one place the simulator imports the gateway's GE DRI codec from (layout, framing, request
 * parsing, record encoding): the simulator never re-implements framing, so the two sides agree
 * by construction and a codec change shows up in the simulator's tests.
 */
export { PHDB_LAYOUT, WAVES, DATA_INVALID, type PhdbClass, type GroupDef, type FieldDef, type WaveDef } from '../../../gateway/src/protocols/ge-dri/layout.js';
export { frameRecord } from '../../../gateway/src/protocols/ge-dri/frame.js';
export { DriFramer } from '../../../gateway/src/protocols/ge-dri/framer.js';
export { encodePhdbRecord, encodeWaveRecord, type GroupValues } from '../../../gateway/src/protocols/ge-dri/encode.js';
export { parseRequest, encodePhdbRequest, encodeWaveRequest, type HostRequest } from '../../../gateway/src/protocols/ge-dri/requests.js';

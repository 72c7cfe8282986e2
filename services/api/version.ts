/** The Pegasus format version the authoring API writes (what Pegasus 5's Python API writes). */
export const PEGASUS_VERSION = '5.0.4';

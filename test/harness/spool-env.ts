// The ingest suites run once more with commits acknowledged from the spool (test/ingest/spool/):
// TEST_SPOOL=lmdb in the test's process gives every server it starts OFD_SPOOL=lmdb.
export const spoolEnv = (): Record<string, string> =>
  process.env.TEST_SPOOL ? { OFD_SPOOL: process.env.TEST_SPOOL } : {};

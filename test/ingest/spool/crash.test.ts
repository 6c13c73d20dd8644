// test/ingest/crash.test.ts unchanged, with commits acknowledged from the spool (OFD_SPOOL=lmdb).
process.env.TEST_SPOOL = 'lmdb';
await import('../crash.test.js');

// test/ingest/ingest-processes.test.ts unchanged, with commits acknowledged from the spool
// (OFD_SPOOL=lmdb): the server process's spool takes the ingest processes' rows over IPC.
process.env.TEST_SPOOL = 'lmdb';
await import('../ingest-processes.test.js');

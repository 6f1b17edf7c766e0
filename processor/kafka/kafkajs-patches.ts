/**
 * Replacements of kafkajs 2.2.4 internals, put into Node's module cache before kafkajs's own modules load (kafkajs
 * captures them at load time): every module of this folder that loads kafkajs imports this file first, so whichever
 * of them a process loads first installs both (architecture.test.ts checks the import order).
 * - aborted-transactions.ts: the read_committed filter (kafkajs leaks aborted records when several producers abort
 *   into one partition);
 * - consumer-batch.ts: the consumer's per-partition batch (kafkajs parses every record's offset into a Long), after
 *   aborted-transactions.ts, whose filter it loads;
 * - fetch-ahead.ts: the consumer's runner, with one Fetch per broker in flight while a response's batches are
 *   handled (kafkajs fetches only after they were), after consumer-batch.ts, whose batches it reads;
 * - produce-encoding.ts: the Produce request encoder (kafkajs copies every record through five buffers and
 *   checksums one byte at a time);
 * - produce-grouping.ts: the per-partition grouping of produced messages (kafkajs copies a partition's array per
 *   message);
 * - request-framing.ts: the framing of every request (kafkajs copies each request body twice);
 * - record-decoding.ts: the decoder of one fetched record (kafkajs adds offsets and timestamps as BigInt-backed Longs
 *   through decimal strings);
 * - fetch-response.ts: the Fetch v11 response decoder (fetch-decoding.ts: kafkajs builds every record's objects when a
 *   response arrives; this builds the consumer's records once, when their batch is handled), after record-decoding.ts,
 *   which kafkajs's fallback decoder (message formats v0/v1) loads;
 * - request-queue-timer.ts: the request queue's throttle-check timer (a negative delay Node 24 warns about);
 * - response-framing.ts: a connection's handling of the empty rest after a response (it made kafkajs copy the next
 *   response whole; response-framing.ts's sockets hand responses over whole).
 */
import './aborted-transactions.js';
import './consumer-batch.js';
import './fetch-ahead.js';
import './produce-encoding.js';
import './produce-grouping.js';
import './request-framing.js';
import './record-decoding.js';
import './fetch-response.js';
import './request-queue-timer.js';
import './response-framing.js';

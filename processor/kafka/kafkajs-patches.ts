/**
 * Replacements of kafkajs 2.2.4 internals, put into Node's module cache before kafkajs's own modules load (kafkajs
 * captures them at load time): every module of this folder that loads kafkajs imports this file first, so whichever
 * of them a process loads first installs both (architecture.test.ts checks the import order).
 * - aborted-transactions.ts: the read_committed filter (kafkajs leaks aborted records when several producers abort
 *   into one partition);
 * - consumer-batch.ts: the consumer's per-partition batch (kafkajs parses every record's offset into a Long), after
 *   aborted-transactions.ts, whose filter it loads;
 * - produce-encoding.ts: the Produce request encoder (kafkajs copies every record through five buffers and
 *   checksums one byte at a time);
 * - produce-grouping.ts: the per-partition grouping of produced messages (kafkajs copies a partition's array per
 *   message);
 * - request-framing.ts: the framing of every request (kafkajs copies each request body twice);
 * - record-decoding.ts: the decoder of one fetched record (kafkajs adds offsets and timestamps as BigInt-backed Longs
 *   through decimal strings);
 * - request-queue-timer.ts: the request queue's throttle-check timer (a negative delay Node 24 warns about).
 */
import './aborted-transactions.js';
import './consumer-batch.js';
import './produce-encoding.js';
import './produce-grouping.js';
import './request-framing.js';
import './record-decoding.js';
import './request-queue-timer.js';

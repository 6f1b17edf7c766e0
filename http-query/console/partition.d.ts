// Types of partition.js for the TypeScript side (its test compares it with common/partitioner.ts).
export declare function murmur2(data: Uint8Array): number;
export declare function stringKeyPartition(key: string, partitions: number): number;

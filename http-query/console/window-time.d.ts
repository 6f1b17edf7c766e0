// Types of window-time.js for the TypeScript side (its test: http-query/console-windows.test.ts).
export declare function formatWindowSize(ms: number): string;
export declare function parseTime(text: string, what: string): number | undefined;
export declare function formatWindowTime(ms: number): string;

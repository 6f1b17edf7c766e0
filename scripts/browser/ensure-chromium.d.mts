// Types for ensure-chromium.mjs (plain ESM so it runs without a build step).
export declare const REPO_ROOT: string;
export declare const DEFAULT_CHROMIUM_PATH: string;
export declare const DEFAULT_LOG_FILE: string;

/** The browser is missing and cannot be installed on this machine; the message says why and what to do. */
export declare class BrowserUnavailableError extends Error {}

export interface InstalledChromium {
  readonly executablePath: string;
  /** `Chromium 150.0.7871.100 built on Debian GNU/Linux 12 (bookworm)` */
  readonly version: string;
  /** True when this call installed it. */
  readonly installed: boolean;
}

/** Finds Chromium, installing Debian's `chromium` and `chromium-driver` with apt-get when it is missing. */
export declare function ensureChromium(options?: { logFile?: string }): InstalledChromium;

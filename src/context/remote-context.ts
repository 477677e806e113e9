/**
 * Remote build contexts behind one interface: each provider fills an empty directory with the context named
 * by a URL. Providers (and the SDKs they use) load only when a build names them, so a directory build's
 * start-up does not pay for git, AWS, Google or Azure code.
 */
import type { ContextSource, GitOptions } from '../builder/options.ts';
import type { Logger } from '../log/logger.ts';

export type RemoteContextSource = Extract<ContextSource, { url: string }>;

export interface RemoteContextRequest {
  source: RemoteContextSource;
  /** An empty directory to fill with the context (before --context-sub-path). */
  dest: string;
  /** A private directory for downloads, outside `dest`; removed by the caller. */
  scratch: string;
  git: GitOptions;
  env: NodeJS.ProcessEnv;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface RemoteContextResult {
  /** What pins the content: `git:<commit>` or the `sha256:` of the downloaded archive. */
  digest: string;
}

export interface RemoteContextProvider {
  fetchContext(req: RemoteContextRequest): Promise<RemoteContextResult>;
}

const PROVIDERS: Record<RemoteContextSource['kind'], () => Promise<RemoteContextProvider>> = {
  git: async () => (await import('./git-context.ts')).gitContext,
  s3: async () => (await import('./s3-context.ts')).s3Context,
  gcs: async () => (await import('./gcs-context.ts')).gcsContext,
  azure: async () => (await import('./azure-context.ts')).azureContext,
};

export async function fetchRemoteContext(req: RemoteContextRequest): Promise<RemoteContextResult> {
  const provider = await PROVIDERS[req.source.kind]();
  return provider.fetchContext(req);
}

/**
 * Azure Blob Storage contexts, `https://<account>.blob.core.windows.net/<container>/<path>.tar.gz`, with
 * Azure's storage client. Credentials as kaniko: AZURE_STORAGE_ACCESS_KEY for the account in the URL; or a
 * connection string (AZURE_STORAGE_CONNECTION_STRING), whose BlobEndpoint also points the client at an
 * emulator such as azurite; or a SAS token in the URL's query.
 */
import { KilnError } from '../errors.ts';
import { redactUrl } from '../log/redact.ts';
import { fetchArchiveContext } from './archive-context.ts';
import type { RemoteContextProvider } from './remote-context.ts';

export interface AzureBlobLocation {
  account: string;
  container: string;
  blob: string;
}

export function parseAzureBlobUrl(url: string): AzureBlobLocation {
  const u = new URL(url);
  const account = u.hostname.split('.')[0] ?? '';
  const [container = '', ...rest] = u.pathname.replace(/^\/+/, '').split('/');
  const blob = rest.map(decodeURIComponent).join('/');
  if (account === '' || container === '' || blob === '') {
    throw new KilnError('INVALID_CONTEXT', `--context ${redactUrl(url)}: expected https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH.tar.gz`, { exitCode: 2 });
  }
  return { account, container, blob };
}

function classify(url: string, err: unknown): KilnError | undefined {
  const status = (err as { statusCode?: number }).statusCode;
  const code = (err as { code?: string }).code ?? '';
  if (status === 404) {
    return new KilnError('REMOTE_CONTEXT_NOT_FOUND', `--context ${url}: not found (${code || 404})`, { hint: 'check the container and the blob name' });
  }
  if (status === 401 || status === 403) {
    return new KilnError('REMOTE_CONTEXT_DENIED', `--context ${url}: access denied (${code || status})`, {
      hint: 'check AZURE_STORAGE_ACCESS_KEY or AZURE_STORAGE_CONNECTION_STRING for this account',
    });
  }
  return undefined;
}

export const azureContext: RemoteContextProvider = {
  async fetchContext(req) {
    const shown = redactUrl(req.source.url);
    const { account, container, blob } = parseAzureBlobUrl(req.source.url);
    const azure = await import('@azure/storage-blob');
    // Retries are ours (fetchArchiveContext): one policy for every store.
    const pipelineOptions = { retryOptions: { maxTries: 1 } };
    const connection = req.env.AZURE_STORAGE_CONNECTION_STRING ?? '';
    const key = req.env.AZURE_STORAGE_ACCESS_KEY ?? '';
    let client;
    if (connection !== '') {
      client = azure.BlobServiceClient.fromConnectionString(connection, pipelineOptions).getContainerClient(container).getBlobClient(blob);
    } else if (key !== '') {
      const credential = new azure.StorageSharedKeyCredential(account, key);
      client = new azure.BlobServiceClient(`https://${account}.blob.core.windows.net`, credential, pipelineOptions).getContainerClient(container).getBlobClient(blob);
    } else {
      client = new azure.BlobClient(req.source.url, new azure.AnonymousCredential(), pipelineOptions);
    }
    return fetchArchiveContext(req, async () => {
      const res = await client.download(0, undefined, req.signal ? { abortSignal: req.signal } : {});
      if (!res.readableStreamBody) throw new KilnError('REMOTE_CONTEXT_FAILED', `--context ${shown}: empty response`);
      const { Readable } = await import('node:stream');
      return { body: Readable.from(res.readableStreamBody), ...(res.contentLength !== undefined ? { size: res.contentLength } : {}) };
    }, (err) => classify(shown, err));
  },
};

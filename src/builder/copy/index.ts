/** COPY/ADD file operations, as the builder uses them. */
export { copyFiles, type CopyRequest, type CopyResult } from './copy-files.ts';
export { writeHeredocFile, type HeredocFileRequest } from './heredoc-source.ts';
export { parseChmod, type ChmodSpec } from './chmod.ts';
export { resolveChown, type Owner, type ResolveChownOptions } from './chown.ts';

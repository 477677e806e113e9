/**
 * What `--cache=true` does for layers, said once when the build starts. Kept in this one place so the layer
 * cache, when it lands, changes one function: until then no layer is cached, only base images come from
 * `--cache-dir`.
 */
export function layerCacheNotice(cacheEnabled: boolean, cacheRepo: string | undefined, cacheDir: string): string | undefined {
  if (!cacheEnabled || cacheRepo !== undefined) return undefined;
  return `--cache=true: layers are not cached (Kiln has no layer cache yet); only base images are read from the --cache-dir ${cacheDir}`;
}

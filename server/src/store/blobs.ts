// Names of the store's blobs: what kind of thing, then its id, so deleteBlobs(prefix) can drop a
// kind or one owner's blobs.

/** An uploaded `git bundle` (POST /v1/bundles), by its content id. */
export function bundleBlobKey(bundleId: string): string {
  return `bundle/${bundleId}`;
}

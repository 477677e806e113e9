/** The registry client: references, auth, pull and push. */
export type { Reference, ParseReferenceOptions } from './reference.ts';
export {
  parseReference, formatReference, familiarReference, repositoryName, manifestIdentifier, apiHost, withDigest, withTag, withRegistry,
  DOCKER_HUB, DOCKER_HUB_API_HOST, DOCKER_HUB_AUTH_KEY,
} from './reference.ts';
export type { RegistryOptions, ClientCertificate } from './options.ts';
export { defaultRegistryOptions, parseRegistryCertificate, parseRegistryClientCert, addRegistryMap, addRegistryMirror } from './options.ts';
export type { Credentials, DockerConfigFile, CredentialSource } from './docker-config.ts';
export { dockerConfigPath, readDockerConfig, credentialSource } from './docker-config.ts';
export { RegistrySession } from './session.ts';
export { selectManifest } from './platform.ts';
export type { PullOptions, PullCandidate, ResolvedManifest } from './pull.ts';
export { getManifest, remoteImage, remoteIndex, pullCandidates } from './pull.ts';
export { RemoteImage, RemoteLayer, RemoteIndex } from './remote-image.ts';
export type { PushOptions, PushResult } from './push.ts';
export { EarlyUploads, pushImage, pushIndexManifest } from './push.ts';
export { checkPushPermission } from './permission.ts';
export { MANIFEST_ACCEPT, isIndexMediaType } from './manifest.ts';

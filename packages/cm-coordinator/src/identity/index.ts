// Public API of the identity module: the cluster CA, node certificates and their files.
export {
  type CertificateAndKey,
  type CertificateInfo,
  type ClusterCaOptions,
  createClusterCa,
  issueNodeCertificate,
  type KeyAlgorithm,
  type NodeCertificateOptions,
  readCertificate,
  verifyNodeCertificate,
} from './certificates';
export {
  IDENTITY_FILES,
  type LoadedIdentity,
  loadClusterCa,
  loadIdentity,
  type NodeTlsIdentity,
  writeClusterCa,
  writeIdentity,
} from './files';

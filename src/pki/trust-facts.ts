/**
 * What a cluster folder trusts, without secrets: the SHA-256 fingerprints of
 * the roots in its `root-cert.pem`, of the root that issued its intermediate
 * (the end of `cert-chain.pem`), and of other meshes' roots it trusts
 * (`meshConfig.caCertificates`). Written into each folder's marker, so the
 * root guard and the stage checks of a root rotation work even when the
 * cacerts Secret is encrypted (SOPS, Sealed Secrets) before it is committed.
 */
import { parseCertificate, pemCertificates } from './inspect';

/** Fingerprints, as `openssl x509 -fingerprint -sha256` prints them. */
export interface TrustFacts {
  /** Roots of `root-cert.pem`, in order. */
  readonly roots: readonly string[];
  /** The root that issued the cluster's intermediate; unknown when cert-manager makes it in the cluster. */
  readonly issuer?: string;
  /** Other meshes' roots, from `meshConfig.caCertificates`. */
  readonly extraRoots: readonly string[];
}

/** Fingerprints already computed, by PEM: a fleet's folders share one root, parsed once. */
const known = new Map<string, string | undefined>();

/** Fingerprints of every certificate of a PEM bundle, in order. */
export function fingerprintsOf(bundle: string): string[] {
  return pemCertificates(bundle).flatMap((pem) => {
    if (!known.has(pem)) {
      if (known.size > 10_000) known.clear();
      known.set(pem, parseCertificate(pem)?.fingerprint256);
    }
    return known.get(pem) ?? [];
  });
}

/** The facts of a folder: its cacerts files (when meshgen writes them), its trusted roots, and other meshes' roots. */
export function trustFactsOf(rootBundle: string, certChain: string | undefined, extraRoots: readonly string[]): TrustFacts {
  const chain = certChain === undefined ? [] : fingerprintsOf(certChain);
  return {
    roots: fingerprintsOf(rootBundle),
    ...(chain.length > 0 ? { issuer: chain[chain.length - 1] } : {}),
    extraRoots: extraRoots.flatMap((pem) => fingerprintsOf(pem)),
  };
}

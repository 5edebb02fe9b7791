/**
 * Pure checks of a key store's material, each returning the problems it
 * finds (file, message, fix) and reading nothing: key-store.ts reads the
 * files and decides what to make, store-io.ts writes.
 */
import { X509Certificate } from 'node:crypto';
import * as path from 'node:path';
import { Problem } from '../errors';
import { ClusterModel } from '../model/types';
import { displayPath } from '../paths';
import { issuedBy, subjectAttribute } from './inspect';
import type { KeyStoreOptions } from './key-store';

/** A certificate and its private key, read and matched. */
export interface Pair {
  certPem: string;
  keyPem: string;
  cert: X509Certificate;
}

const CA_CERT = 'ca-cert.pem';

/** Problems of a root: not a self-signed CA, or expired (`expiredFix` says what to do then). */
export function checkRoot(certFile: string, root: Pair, now: Date, expiredFix: string): Problem[] {
  const problems: Problem[] = [];
  const file = displayPath(certFile);
  if (!root.cert.ca || !issuedBy(root.cert, root.cert)) {
    problems.push({
      file,
      message: 'is not a self-signed CA certificate',
      fix: 'restore the mesh root CA here from backup; to start over with a new CA on purpose, move the key store aside (keep it: it holds keys) and run synth with --new-root',
    });
  }
  if (new Date(root.cert.validTo) <= now) {
    problems.push({
      file,
      message: `expired on ${new Date(root.cert.validTo).toISOString()}`,
      fix: expiredFix,
    });
  }
  return problems;
}

/** Problems of a cluster's intermediate: not signed by `root`, issued for another cluster, or expired. */
export function checkIntermediate(dir: string, cluster: ClusterModel, pair: Pair, root: Pair | undefined, rootFile: string, now: Date): Problem[] {
  const problems: Problem[] = [];
  const file = displayPath(path.join(dir, CA_CERT));
  const rotate = `meshgen certs rotate --cluster ${cluster.name}`;
  if (root && !issuedBy(pair.cert, root.cert)) {
    problems.push({
      file,
      message: `was not signed by the root in ${displayPath(rootFile)}, so cluster "${cluster.name}" would not be trusted by the others`,
      fix: `restore the root that issued it, or run \`${rotate}\` to issue a new intermediate under the current root`,
    });
  }
  const locality = subjectAttribute(pair.cert, 'L');
  if (locality !== cluster.name) {
    problems.push({
      file,
      message: `is the intermediate of cluster "${locality ?? '(none)'}", not of "${cluster.name}"`,
      fix: `move it back to that cluster's folder, or run \`${rotate}\` to issue one for "${cluster.name}"`,
    });
  }
  if (new Date(pair.cert.validTo) <= now) {
    problems.push({
      file,
      message: `expired on ${new Date(pair.cert.validTo).toISOString()}`,
      fix: `run \`${rotate}\` to issue a new intermediate (one run can name several clusters: repeat --cluster), then synthesize and roll out cluster "${cluster.name}"`,
    });
  }
  return problems;
}


/**
 * The root guard: the clusters run with the roots their output trusts, so a
 * key store without a root, or with another root, would break trust between
 * running clusters (a lost key store looks exactly like this).
 */
export function rootGuardProblems(rootCertFile: string, root: Pair | undefined, deployedRoot: KeyStoreOptions['deployedRoot']): Problem[] {
  const problems: Problem[] = [];
  if (deployedRoot?.unreadable && !root) {
    problems.push({
      file: displayPath(rootCertFile),
      message: `is missing, and ${deployedRoot.source} was made under a root CA that cannot be told (its cacerts is encrypted and its marker is from an older meshgen); a new root would break trust with the clusters already running`,
      fix: 'point spec.trust.keyStore at the key store that made the output, or decrypt its cacerts for one run; to replace the CA on purpose, run synth with --new-root and roll out every cluster',
    });
  }
  const deployedRoots = deployedRoot?.fingerprints ?? [];
  const deployed = deployedRoots.length > 0 ? { fingerprint256: deployedRoots[0] } : undefined;
  if (deployedRoot && deployed) {
    const rootFile = displayPath(rootCertFile);
    if (!root) {
      problems.push({
        file: rootFile,
        message: `is missing, but ${deployedRoot.source} was made under a root CA (SHA-256 ${deployed.fingerprint256}); a new root would break trust with the clusters already running`,
        fix: 'restore the key store from backup (or point spec.trust.keyStore at it); to replace the CA on purpose, run synth with --new-root and roll out every cluster',
      });
    } else if (!deployedRoots.includes(root.cert.fingerprint256)) {
      problems.push({
        file: rootFile,
        message: `is not the root CA ${deployedRoot.source} was made under (SHA-256 ${deployed.fingerprint256})`,
        fix: 'point spec.trust.keyStore at the key store that made the output; to replace the CA on purpose, run synth with --new-root and roll out every cluster',
      });
    }
  }
  return problems;
}

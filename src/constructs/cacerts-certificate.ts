/**
 * The cert-manager `Certificate` that makes a cluster's intermediate CA
 * inside the cluster, from an issuer the platform team runs (Vault, AWS
 * PCA, a CA issuer), into Secret `cacerts`: no CA key is in the output.
 *
 * cert-manager writes a `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`,
 * `ca.crt`). istiod reads those key names from `cacerts` when `ca-cert.pem`
 * is absent (istio/istio `security/pkg/pki/ca/ca.go`, TLSSecretCACertFile,
 * TLSSecretCAPrivateKeyFile, TLSSecretRootCertFile; Istio 1.14 and later).
 *
 * @see https://cert-manager.io/docs/reference/api-docs/#cert-manager.io/v1.Certificate
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { CACERTS_SECRET_NAME } from './cacerts-secret';
import { ISTIO_SYSTEM } from './names';
import { describeObject } from './description';

/** Props of CacertsCertificate. */
export interface CacertsCertificateProps {
  /** Cluster name: the certificate's locality, as Istio's Makefile sets `L=<cluster>`. */
  readonly cluster: string;
  /** The cert-manager issuer. */
  readonly issuerRef: { readonly name: string; readonly kind: string; readonly group: string };
  /** Validity, e.g. `8760h`. */
  readonly duration: string;
  /** Renew this long before expiry, e.g. `720h`. */
  readonly renewBefore: string;
  /** RSA modulus length of the key cert-manager makes (when no curve is set). */
  readonly keyBits: number;
  /**
   * ECDSA curve of the key cert-manager makes.
   * @default - an RSA key
   */
  readonly curve?: 'P-256' | 'P-384';
  /** Subject O. */
  readonly organization: string;
  /** Subject CN. */
  readonly commonName: string;
  /** DNS names after `istiod.istio-system.svc`. */
  readonly extraSANs: readonly string[];
}

/** `Certificate` `cacerts` in `istio-system`, shaped as the intermediates meshgen issues itself. */
export class CacertsCertificate extends Construct {
  /** The underlying object. */
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: CacertsCertificateProps) {
    super(scope, id);
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: CACERTS_SECRET_NAME, namespace: ISTIO_SYSTEM },
      spec: {
        secretName: CACERTS_SECRET_NAME,
        isCA: true,
        commonName: props.commonName,
        subject: { organizations: [props.organization], localities: [props.cluster] },
        dnsNames: [`istiod.${ISTIO_SYSTEM}.svc`, ...props.extraSANs],
        duration: props.duration,
        renewBefore: props.renewBefore,
        privateKey: props.curve
          ? { algorithm: 'ECDSA', size: props.curve === 'P-384' ? 384 : 256, rotationPolicy: 'Always' }
          : { algorithm: 'RSA', size: props.keyBits, rotationPolicy: 'Always' },
        // An EC key cannot encipher keys, so ECDSA intermediates leave that usage out.
        usages: ['cert sign', 'crl sign', 'digital signature', ...(props.curve ? [] : ['key encipherment'])],
        issuerRef: { name: props.issuerRef.name, kind: props.issuerRef.kind, group: props.issuerRef.group },
      },
    });
    describeObject(this.resource, `Certificate \`cacerts\`: cert-manager makes this cluster's intermediate CA from ${props.issuerRef.kind} \`${props.issuerRef.name}\``);
  }
}

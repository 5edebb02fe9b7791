/**
 * A file in a cluster folder that kubectl does not apply from it, such as a
 * Helm values file or the Argo CD parent Application: a YAML document the
 * renderer writes beside the folder's kustomization, never in it.
 */
import { Construct } from 'constructs';

/** Props of FolderFile. */
export interface FolderFileProps {
  /** Path relative to the cluster folder, e.g. `helm/istiod.values.yaml`. */
  readonly path: string;
  /** The YAML document of the file, which the renderer writes under meshgen's generated-file header. */
  readonly document: Readonly<Record<string, unknown>>;
  /** One line for the README's file table. */
  readonly description: string;
  /**
   * How the README says the file is used.
   * @default 'helm'
   */
  readonly usedBy?: string;
  /**
   * For a Helm values file: the release and chart it is for.
   * @default - not a values file
   */
  readonly helm?: { readonly release: string; readonly chart: string };
}

/** A non-Kubernetes file of a cluster folder. */
export class FolderFile extends Construct {
  /** Path relative to the cluster folder. */
  public readonly path: string;
  public readonly document: Readonly<Record<string, unknown>>;
  public readonly description: string;
  public readonly usedBy: string;
  public readonly helm?: { readonly release: string; readonly chart: string };

  constructor(scope: Construct, id: string, props: FolderFileProps) {
    super(scope, id);
    this.path = props.path;
    this.document = props.document;
    this.description = props.description;
    this.usedBy = props.usedBy ?? 'helm';
    this.helm = props.helm;
  }

  /** True for FolderFile constructs. */
  public static isFolderFile(x: unknown): x is FolderFile {
    return x instanceof FolderFile;
  }
}

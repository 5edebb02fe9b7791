/**
 * A file in a cluster folder that is not a Kubernetes object, such as a
 * Helm values file. The renderer writes it as given; kubectl never applies it.
 */
import { Construct } from 'constructs';

/** Props of FolderFile. */
export interface FolderFileProps {
  /** Path relative to the cluster folder, e.g. `helm/istiod.values.yaml`. */
  readonly path: string;
  /** File content. */
  readonly content: string;
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
  public readonly content: string;
  public readonly description: string;
  public readonly usedBy: string;
  public readonly helm?: { readonly release: string; readonly chart: string };

  constructor(scope: Construct, id: string, props: FolderFileProps) {
    super(scope, id);
    this.path = props.path;
    this.content = props.content;
    this.description = props.description;
    this.usedBy = props.usedBy ?? 'helm';
    this.helm = props.helm;
  }

  /** True for FolderFile constructs. */
  public static isFolderFile(x: unknown): x is FolderFile {
    return x instanceof FolderFile;
  }
}

/**
 * Facts attached to a generated object for the cluster README: a one-line
 * description, and whether it must be applied before istiod starts.
 */
import { IConstruct } from 'constructs';

const DESCRIPTION = 'meshgen:description';

/** Attaches `text` as the description of `obj`. */
export function describeObject(obj: IConstruct, text: string): void {
  obj.node.addMetadata(DESCRIPTION, text);
}

/** The description of `obj`, if one was attached. */
export function descriptionOf(obj: IConstruct): string | undefined {
  const entry = obj.node.metadata.find((m) => m.type === DESCRIPTION);
  return entry ? String(entry.data) : undefined;
}

const FOLDER = 'meshgen:folder';

/**
 * Puts `obj` in a sub-folder of the cluster folder, with its own
 * kustomization.yaml, for an engine to apply on its own schedule (a Flux
 * Kustomization or an Argo CD Application names the sub-folder).
 */
export function placeObject(obj: IConstruct, folder: string): void {
  obj.node.addMetadata(FOLDER, folder);
}

/** The sub-folder `obj` was placed in, if any. */
export function folderOf(obj: IConstruct): string | undefined {
  const entry = obj.node.metadata.find((m) => m.type === FOLDER);
  return entry ? String(entry.data) : undefined;
}

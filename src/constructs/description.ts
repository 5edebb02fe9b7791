/**
 * A one-line, human description attached to a generated object, which the
 * cluster README lists beside the object's file.
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

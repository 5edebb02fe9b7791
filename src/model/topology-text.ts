/**
 * Topology files that meshgen writes for people to read and edit (`init`,
 * `convert`): a yaml Document with notes as comments, one way for both.
 */
import { Document, isScalar, YAMLMap } from 'yaml';

/** Width that comments wrap at. */
const COMMENT_WIDTH = 92;

/**
 * Comment text for the yaml library: each note wrapped at COMMENT_WIDTH,
 * its continuation lines indented, every line led by the space after `#`.
 */
export function commentText(notes: readonly string[]): string {
  const lines: string[] = [];
  for (const note of notes) {
    let line = '';
    for (const word of note.split(/\s+/).filter(Boolean)) {
      if (line !== '' && line.length + 1 + word.length > COMMENT_WIDTH) {
        lines.push(line);
        line = `  ${word}`;
      } else {
        line = line === '' ? word : `${line} ${word}`;
      }
    }
    lines.push(line);
  }
  return lines.map((l) => ` ${l}`).join('\n');
}

/** Puts `notes` above the key `key` of `map` (nothing when there are none or the key is absent). */
export function noteKey(map: YAMLMap, key: string, notes: readonly string[]): void {
  if (notes.length === 0) return;
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  if (pair && isScalar(pair.key)) pair.key.commentBefore = commentText(notes);
}

/** The file's text: no line folding, so values and comments stay on the lines they were given. */
export function topologyText(doc: Document): string {
  return doc.toString({ lineWidth: 0 });
}

/**
 * DOT to SVG with Graphviz compiled to WebAssembly (@viz-js/viz), so
 * pictures render offline with no Graphviz install. The package is loaded on
 * first use only: it is over a megabyte of JavaScript and WebAssembly that
 * every other command would otherwise pay for at start-up.
 */
import type { Viz } from '@viz-js/viz';
import { OutputError } from '../errors';
import { toDot } from './dot';
import { TopologyGraph } from './model';

let viz: Promise<Viz> | undefined;

/** The Graphviz instance, made once per process. */
function graphviz(): Promise<Viz> {
  viz ??= import('@viz-js/viz').then((m) => m.instance());
  return viz;
}

/** Renders DOT text to an SVG document with Graphviz's `dot` layout. Throws OutputError when Graphviz cannot. */
export async function renderSvg(dot: string): Promise<string> {
  const result = (await graphviz()).render(dot, { format: 'svg', engine: 'dot' });
  const errors = result.errors.filter((e) => e.level !== 'warning').map((e) => ({ message: e.message.trim() }));
  if (result.status !== 'success' || errors.length > 0) {
    throw new OutputError('Graphviz cannot render the graph as SVG', errors);
  }
  return result.output;
}

/** The topology graph as an SVG document. */
export function toSvg(graph: TopologyGraph): Promise<string> {
  return renderSvg(toDot(graph));
}

/**
 * DOT to SVG with Graphviz compiled to WebAssembly (@viz-js/viz), so
 * pictures render offline with no Graphviz install. The package is loaded on
 * first use only: it is over a megabyte of JavaScript and WebAssembly that
 * every other command would otherwise pay for at start-up. Also owns how the
 * SVG's text survives a viewer without Arial.
 */
import type { Viz } from '@viz-js/viz';
import { OutputError } from '../errors';
import { FONT, toDot } from './dot';
import { TopologyGraph } from './model';

/**
 * The font-family every text of the SVG asks for: Arial, then fonts made to
 * Arial's metrics (Liberation Sans, Arimo; Helvetica has the same widths),
 * and only then whatever sans-serif the viewer has. Graphviz keeps laying out
 * with FONT alone: given a list, it falls back to Times metrics.
 */
export const SVG_FONT_FAMILY = `${FONT}, 'Liberation Sans', Arimo, Helvetica, sans-serif`;

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
  return fitTexts(result.output, await layoutTextWidths(dot));
}

/**
 * The width Graphviz lays out each text of `dot` with, by textKey in SVG
 * coordinates, read from its JSON output (the SVG leaves widths out).
 *
 * Graphviz's JSON (xdot) writer reads past the end of the dash style of an
 * HTML table cell's border (`STYLE="dashed"`, as the legend's remote sample
 * has) and can fault. A border's dash pattern neither sizes nor moves
 * anything, so the JSON is made from the DOT without it: same layout, same
 * texts. Should the writer fault anyway, the instance is dropped (its memory
 * may be damaged) and the texts keep their natural widths.
 */
async function layoutTextWidths(dot: string): Promise<Map<string, number>> {
  const plainBorders = dot.replace(/\bSTYLE="([^"]*)"/g, (_m, style: string) => `STYLE="${style.split(',').filter((s) => !/^\s*(dashed|dotted)\s*$/i.test(s)).join(',')}"`);
  try {
    const result = (await graphviz()).render(plainBorders, { format: 'json', engine: 'dot' });
    return result.status === 'success' ? textWidths(result.output) : new Map();
  } catch {
    viz = undefined;
    return new Map();
  }
}

/** The topology graph as an SVG document. */
export function toSvg(graph: TopologyGraph): Promise<string> {
  return renderSvg(toDot(graph));
}

/**
 * Where a text starts, as a key that the SVG and JSON forms of one layout
 * share. Graphviz writes coordinates to two decimals in both; the SVG's y
 * axis points down, the JSON's up. The text itself is no part of the key:
 * the JSON writer escapes backslashes twice.
 */
function textKey(x: number, y: number): string {
  return `${x.toFixed(2)} ${y.toFixed(2)}`;
}

/** One xdot drawing operation of Graphviz's JSON output; `T` draws a text. */
interface XdotOp {
  readonly op: string;
  readonly pt?: readonly [number, number];
  readonly width?: number;
}

/**
 * The width Graphviz laid out each text with, by textKey in SVG coordinates.
 * Two texts that start at one point make the point ambiguous: neither gets a width.
 */
function textWidths(json: string): Map<string, number> {
  const doc = JSON.parse(json) as Record<string, unknown> & { objects?: Record<string, unknown>[]; edges?: Record<string, unknown>[] };
  const widths = new Map<string, number>();
  const ambiguous = new Set<string>();
  for (const item of [doc, ...(doc.objects ?? []), ...(doc.edges ?? [])]) {
    for (const [key, ops] of Object.entries(item)) {
      if (!key.endsWith('draw_') || !Array.isArray(ops)) continue;
      for (const op of ops as XdotOp[]) {
        if (op.op !== 'T' || !op.pt || !op.width) continue;
        const at = textKey(op.pt[0], -op.pt[1]);
        if (widths.has(at)) ambiguous.add(at);
        widths.set(at, op.width);
      }
    }
  }
  for (const at of ambiguous) widths.delete(at);
  return widths;
}

/**
 * Makes each `<text>` of Graphviz's SVG ask for SVG_FONT_FAMILY and draw
 * exactly as wide as Graphviz laid it out.
 *
 * Graphviz places text with Arial's metrics. A viewer without Arial or a
 * metric-compatible font draws it wider, and text then runs past its box and
 * into the text next to it: where one line holds several spans, each span
 * starts where Graphviz measured the previous one to end. `textLength` with
 * `lengthAdjust="spacingAndGlyphs"` tells the viewer to fit the glyphs into
 * that width, whatever font it uses, so the picture keeps the geometry
 * Graphviz computed: slightly squeezed in a wider font, never overlapping.
 * The widths come from Graphviz's own layout, not an estimate of ours, so
 * they agree with the boxes it drew. A text whose width cannot be found
 * (none expected) keeps its natural width.
 */
function fitTexts(svg: string, widths: ReadonlyMap<string, number>): string {
  // Graphviz writes each text as one `<text …>…</text>` with no markup inside.
  return svg.replace(/<text ([^>]*)>([^<]*)<\/text>/g, (_whole, attrs: string, content: string) => {
    const x = /(?:^| )x="([^"]*)"/.exec(attrs)?.[1];
    const y = /(?:^| )y="([^"]*)"/.exec(attrs)?.[1];
    const width = x !== undefined && y !== undefined ? widths.get(textKey(Number(x), Number(y))) : undefined;
    let fitted = attrs.replace(`font-family="${FONT}"`, `font-family="${SVG_FONT_FAMILY}"`);
    if (width !== undefined) fitted += ` textLength="${Number(width.toFixed(2))}" lengthAdjust="spacingAndGlyphs"`;
    return `<text ${fitted}>${content}</text>`;
  });
}

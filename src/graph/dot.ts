/**
 * The topology graph as Graphviz DOT: meshes and networks as nested
 * clusters, laid out left to right, one colour and line style per edge
 * kind, and a legend of the kinds the picture uses. svg.ts renders it.
 */
import { compareStrings } from '../order';
import { AMBIENT_GATEWAY_LINE, clusterLines, GraphEdge, GraphEdgeKind, GraphGroup, GraphNode, groupTitle, TopologyGraph, ZTUNNEL_LINE } from './model';

/**
 * Font of every label. Graphviz sizes boxes with built-in metrics of a few
 * fonts only (a list of fonts falls back to Times, which is narrower). The
 * SVG names metric-compatible substitutes after it and pins each text to
 * the width laid out here (svg.ts).
 */
export const FONT = 'Arial';

/** Look of each edge kind. */
const EDGE_STYLES: Record<GraphEdgeKind, { readonly attrs: Record<string, string>; readonly legend: readonly [string, string] }> = {
  controlPlane: {
    attrs: { color: '#c2410c', fontcolor: '#c2410c', penwidth: '2', style: 'solid' },
    legend: ['control plane', 'remote to the primary whose istiod serves it'],
  },
  reads: {
    attrs: { color: '#64748b', fontcolor: '#475569', penwidth: '1.2', style: 'dashed', arrowsize: '0.8' },
    legend: ['reads API', "a primary's istiod watches that cluster (remote secret)"],
  },
  exports: {
    attrs: { color: '#15803d', fontcolor: '#15803d', penwidth: '2.5', style: 'bold' },
    legend: ['exports', 'services of one mesh that another mesh calls, by host'],
  },
};

/** Look of each node kind. */
const NODE_STYLES: Record<GraphNode['kind'], { readonly attrs: Record<string, string>; readonly legend: readonly [string, string] }> = {
  primary: {
    attrs: { shape: 'box', style: 'rounded,filled', fillcolor: '#dbeafe', color: '#1d4ed8', penwidth: '2' },
    legend: ['primary', 'runs istiod'],
  },
  remote: {
    attrs: { shape: 'box', style: 'rounded,filled,dashed', fillcolor: '#f8fafc', color: '#64748b', penwidth: '1.2' },
    legend: ['remote', "served by a primary's istiod"],
  },
};

/**
 * Legend entry of ambient clusters: their nodes look like any other and say
 * `ztunnel` and the gateway's class, which the entry explains.
 */
const AMBIENT_LEGEND = { name: 'ambient', what: ['ztunnel on every node, no sidecars;', `east-west gateway: ${AMBIENT_GATEWAY_LINE}`] } as const;

/** Look of each group kind. */
const GROUP_STYLES: Record<GraphGroup['kind'], Record<string, string>> = {
  mesh: { style: 'rounded,filled', fillcolor: '#fefce8', color: '#a16207', penwidth: '1.5', fontcolor: '#422006' },
  network: { style: 'rounded,dashed,filled', fillcolor: '#ffffff', color: '#94a3b8', fontcolor: '#334155' },
};

/** Escapes text for a double-quoted DOT string. */
export function escapeDotString(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, ' ');
}

/** Escapes text for a Graphviz HTML-like label. */
export function escapeDotHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\r?\n/g, ' ');
}

function quote(text: string): string {
  return `"${escapeDotString(text)}"`;
}

/** `k="v"` pairs; a value in angle brackets is an HTML-like label and stays unquoted. */
function attributes(attrs: Record<string, string>, separator = ', '): string {
  return Object.entries(attrs)
    .map(([k, v]) => (v.startsWith('<') ? `${k}=${v}` : `${k}=${quote(v)}`))
    .join(separator);
}

/**
 * An HTML-like label: the first line bold and the others smaller, or all
 * plain with `plain`; every line flush left with `left`.
 */
function htmlLabel(lines: readonly string[], opts: { plain?: boolean; left?: boolean } = {}): string {
  const br = opts.left ? '<BR ALIGN="LEFT"/>' : '<BR/>';
  const text = lines.map((line, i) => {
    const escaped = escapeDotHtml(line);
    if (opts.plain) return escaped;
    return i === 0 ? `<B>${escaped}</B>` : `<FONT POINT-SIZE="10">${escaped}</FONT>`;
  });
  return `<${text.join(br)}${opts.left ? br : ''}>`;
}

/** Graphviz draws a subgraph as a box only when its name starts with `cluster`. */
function clusterName(groupId: string): string {
  return `cluster_${groupId}`;
}

/** Where edges of the graph attach, and which mesh each endpoint lies in. */
interface Endpoints {
  /** Ids of the groups. */
  readonly groups: ReadonlySet<string>;
  /**
   * A node inside each group, which edges to the group attach to (Graphviz
   * draws an edge between nodes and clips it at the group's border).
   */
  readonly anchors: ReadonlyMap<string, string>;
  /** Mesh group id of every node and group. */
  readonly meshOf: ReadonlyMap<string, string>;
}

function endpoints(graph: TopologyGraph): Endpoints {
  const anchors = new Map<string, string>();
  const meshOf = new Map<string, string>();
  for (const group of graph.groups) meshOf.set(group.id, group.parent ?? group.id);
  for (const node of graph.nodes) {
    const mesh = meshOf.get(node.group) ?? node.group;
    meshOf.set(node.id, mesh);
    for (const id of [node.group, mesh]) {
      if (!anchors.has(id)) anchors.set(id, node.id);
    }
  }
  return { groups: new Set(graph.groups.map((g) => g.id)), anchors, meshOf };
}

/**
 * One edge. Layout runs left to right from primaries to the clusters they
 * serve and read, and from meshes first by name to the others: an edge that
 * runs against that is laid out the other way with its arrow turned back,
 * so two meshes that export to each other do not form a cycle. Edges
 * between two primaries do not rank them, so a mesh's primaries stand in
 * one column.
 */
function edgeStatement(edge: GraphEdge, at: Endpoints): string | undefined {
  const tail = at.groups.has(edge.from) ? at.anchors.get(edge.from) : edge.from;
  const head = at.groups.has(edge.to) ? at.anchors.get(edge.to) : edge.to;
  if (!tail || !head) return undefined;
  const attrs: Record<string, string> = { ...EDGE_STYLES[edge.kind].attrs };
  // Every reads edge looks alike and the legend says what it is: labels would only clutter.
  if (edge.kind !== 'reads') attrs.label = htmlLabel(edge.labels, { plain: true });
  if (edge.bidirectional) {
    attrs.dir = 'both';
    attrs.constraint = 'false';
  }
  const backwards = edge.kind === 'controlPlane' || (edge.kind === 'exports' && compareStrings(at.meshOf.get(edge.from) ?? '', at.meshOf.get(edge.to) ?? '') > 0);
  const [from, to, dotTail, dotHead] = backwards ? [edge.to, edge.from, head, tail] : [edge.from, edge.to, tail, head];
  if (backwards) attrs.dir = 'back';
  if (at.groups.has(from)) attrs.ltail = clusterName(from);
  if (at.groups.has(to)) attrs.lhead = clusterName(to);
  return `${quote(dotTail)} -> ${quote(dotHead)} [${attributes(attrs)}];`;
}

/** A sample line in the legend: a bar of the edge's colour and weight, dashed like the edge. */
function lineSample(kind: GraphEdgeKind): string {
  const { color, penwidth, style } = EDGE_STYLES[kind].attrs;
  const height = Math.max(1, Math.round(Number(penwidth)));
  const cell = (width: number, fill?: string) => `<TD WIDTH="${width}" HEIGHT="${height}" FIXEDSIZE="TRUE"${fill ? ` BGCOLOR="${fill}"` : ''}></TD>`;
  const cells = style === 'dashed' ? [0, 1, 2, 3, 4].map((i) => cell(6, color) + (i < 4 ? cell(4) : '')).join('') : cell(46, color);
  return `<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>${cells}</TR></TABLE>`;
}

/** A sample box in the legend, drawn like the node kind. */
function boxSample(kind: GraphNode['kind']): string {
  const { color, fillcolor, penwidth, style } = NODE_STYLES[kind].attrs;
  const border = Math.max(1, Math.round(Number(penwidth)));
  const cellStyle = style.includes('dashed') ? 'rounded,dashed' : 'rounded';
  return `<TD WIDTH="46" HEIGHT="18" FIXEDSIZE="TRUE" BORDER="${border}" COLOR="${color}" BGCOLOR="${fillcolor}" STYLE="${cellStyle}"></TD>`;
}

/**
 * A legend entry: its name in bold over what it means. Each line is one
 * span. Side by side on one line, the meaning would start where Graphviz
 * measured the name to end in Arial, and a wider font would run the name
 * into it; in cells of their own, Graphviz sets bold and regular text on
 * baselines 2pt apart.
 */
function legendCell(name: string, what: string | readonly string[], color?: string): string {
  const bold = `<B>${escapeDotHtml(name)}</B>`;
  const meaning = (typeof what === 'string' ? [what] : what).map((line) => `${escapeDotHtml(line)}<BR ALIGN="LEFT"/>`).join('');
  return `<TD ALIGN="LEFT">${color ? `<FONT COLOR="${color}">${bold}</FONT>` : bold}<BR ALIGN="LEFT"/>${meaning}</TD>`;
}

/** A sample in the legend of a line that nodes say, set as they set it. */
function textSample(text: string): string {
  return `<TD><FONT POINT-SIZE="10">${escapeDotHtml(text)}</FONT></TD>`;
}

/**
 * The legend: one table with a sample of each node and edge kind the graph
 * uses. A single node keeps it compact wherever the layout puts it.
 */
function legend(graph: TopologyGraph): string {
  const rows = ['<TR><TD COLSPAN="2" ALIGN="LEFT"><FONT POINT-SIZE="12" COLOR="#334155"><B>legend</B></FONT></TD></TR>'];
  for (const kind of ['primary', 'remote'] as const) {
    if (!graph.nodes.some((n) => n.kind === kind)) continue;
    rows.push(`<TR>${boxSample(kind)}${legendCell(...NODE_STYLES[kind].legend)}</TR>`);
  }
  if (graph.nodes.some((n) => n.dataplane === 'ambient')) rows.push(`<TR>${textSample(ZTUNNEL_LINE)}${legendCell(AMBIENT_LEGEND.name, AMBIENT_LEGEND.what)}</TR>`);
  for (const kind of ['controlPlane', 'reads', 'exports'] as const) {
    if (!graph.edges.some((e) => e.kind === kind)) continue;
    rows.push(`<TR><TD>${lineSample(kind)}</TD>${legendCell(...EDGE_STYLES[kind].legend, EDGE_STYLES[kind].attrs.fontcolor)}</TR>`);
  }
  const table = `<TABLE BORDER="1" COLOR="#cbd5e1" STYLE="rounded" CELLBORDER="0" CELLSPACING="6" CELLPADDING="0">${rows.join('')}</TABLE>`;
  return `  "legend" [${attributes({ shape: 'plaintext', fontsize: '10', margin: '0', label: `<${table}>` })}];`;
}

/** The graph as a Graphviz `digraph`, ending in a newline. */
export function toDot(graph: TopologyGraph): string {
  const lines = [
    'digraph meshgen {',
    `  graph [${attributes({ rankdir: 'LR', compound: 'true', newrank: 'true', fontname: FONT, fontsize: '12', nodesep: '0.35', ranksep: '0.9', pad: '0.3', bgcolor: 'white' })}];`,
    `  node [${attributes({ fontname: FONT, fontsize: '12', margin: '0.22,0.1' })}];`,
    `  edge [${attributes({ fontname: FONT, fontsize: '10' })}];`,
  ];
  const writeGroup = (group: GraphGroup, indent: string) => {
    lines.push(`${indent}subgraph ${quote(clusterName(group.id))} {`);
    const title = htmlLabel([groupTitle(group), ...group.details], { left: true });
    lines.push(`${indent}  ${attributes({ ...GROUP_STYLES[group.kind], label: title, labeljust: 'l' }, '; ')};`);
    for (const child of graph.groups.filter((g) => g.parent === group.id).reverse()) writeGroup(child, `${indent}  `);
    for (const node of graph.nodes.filter((n) => n.group === group.id).reverse()) {
      lines.push(`${indent}  ${quote(node.id)} [${attributes({ ...NODE_STYLES[node.kind].attrs, label: htmlLabel(clusterLines(node)) })}];`);
    }
    lines.push(`${indent}}`);
  };
  // Left to right, Graphviz stacks what comes first at the bottom: declare
  // meshes, networks and clusters last to first so they read top down in
  // name order, and the legend first so it sits below them.
  if (graph.nodes.length > 0) lines.push(legend(graph));
  for (const group of graph.groups.filter((g) => g.parent === undefined).reverse()) writeGroup(group, '  ');
  const at = endpoints(graph);
  for (const edge of graph.edges) {
    const statement = edgeStatement(edge, at);
    if (statement) lines.push(`  ${statement}`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

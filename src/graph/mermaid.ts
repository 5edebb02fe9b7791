/**
 * The topology graph as a Mermaid flowchart, for Markdown that GitHub,
 * GitLab and most documentation sites draw: meshes and their networks as
 * nested subgraphs, primaries as rectangles, remotes as stadiums, and one
 * line style per edge kind.
 */
import { clusterLines, GraphEdgeKind, GraphGroup, GraphNode, groupTitle, TopologyGraph } from './model';

/** Arrow of each edge kind, one way and both ways. */
const ARROWS: Record<GraphEdgeKind, { readonly one: string; readonly both: string }> = {
  controlPlane: { one: '-->', both: '<-->' },
  reads: { one: '-.->', both: '<-.->' },
  exports: { one: '==>', both: '<==>' },
};

/** Line colour and width of each edge kind, so the kinds tell apart beyond the arrow style. */
const LINK_STYLES: Record<GraphEdgeKind, string> = {
  controlPlane: 'stroke:#c2410c,stroke-width:2px,color:#c2410c',
  reads: 'stroke:#475569,stroke-width:1px,color:#475569',
  exports: 'stroke:#15803d,stroke-width:3px,color:#15803d',
};

const CLASS_DEFS = [
  'classDef primary fill:#dbeafe,stroke:#1d4ed8,stroke-width:2px,color:#0f172a',
  'classDef remote fill:#f8fafc,stroke:#64748b,stroke-width:1px,stroke-dasharray:5 3,color:#0f172a',
  'classDef mesh fill:#fefce8,stroke:#a16207,color:#422006',
  'classDef network fill:#ffffff,stroke:#94a3b8,stroke-dasharray:3 3,color:#334155',
];

/**
 * Escapes text for a quoted Mermaid label. Mermaid reads `#…;` as an
 * entity and HTML in labels, so everything but plain letters, digits and
 * harmless punctuation becomes a numeric `#code;` entity.
 */
export function escapeMermaid(text: string): string {
  let out = '';
  for (const ch of text) {
    out += /[A-Za-z0-9 .,:/_@()+=*'-]/.test(ch) ? ch : `#${ch.codePointAt(0)};`;
  }
  return out;
}

/** Quoted label of several lines. */
function label(lines: readonly string[]): string {
  return `"${lines.map(escapeMermaid).join('<br/>')}"`;
}

/**
 * Mermaid ids for the model's ids: readable (kind and name), limited to
 * `[A-Za-z0-9_]` so no name can end a statement or start an arrow, and
 * made unique with a counter in the rare case two names map to one id.
 */
function mermaidIds(graph: TopologyGraph): Map<string, string> {
  const ids = new Map<string, string>();
  const used = new Set<string>();
  const items: { id: string; prefix: string; name: string }[] = [
    ...graph.groups.map((g) => ({ id: g.id, prefix: g.kind === 'mesh' ? 'mesh' : 'net', name: g.id.slice(g.id.indexOf(':') + 1) })),
    ...graph.nodes.map((n) => ({ id: n.id, prefix: 'cluster', name: n.name })),
  ];
  for (const item of items) {
    const base = `${item.prefix}_${item.name.replace(/[^A-Za-z0-9]/g, '_')}`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    used.add(id);
    ids.set(item.id, id);
  }
  return ids;
}

function nodeStatement(node: GraphNode, id: string): string {
  const text = label(clusterLines(node));
  return node.kind === 'primary' ? `${id}[${text}]` : `${id}([${text}])`;
}

/** The graph as Mermaid `flowchart LR` text, ending in a newline. */
export function toMermaid(graph: TopologyGraph): string {
  const ids = mermaidIds(graph);
  const id = (modelId: string) => ids.get(modelId) ?? modelId;
  const lines = ['flowchart LR'];
  const meshes = graph.groups.filter((g) => g.kind === 'mesh');
  const classes: Record<string, string[]> = { primary: [], remote: [], mesh: [], network: [] };
  for (const mesh of meshes) {
    lines.push(`  subgraph ${id(mesh.id)}[${label([groupTitle(mesh), ...mesh.details])}]`);
    classes.mesh.push(id(mesh.id));
    for (const network of graph.groups.filter((g: GraphGroup) => g.parent === mesh.id)) {
      lines.push(`    subgraph ${id(network.id)}[${label([groupTitle(network)])}]`);
      classes.network.push(id(network.id));
      for (const node of graph.nodes.filter((n) => n.group === network.id)) {
        lines.push(`      ${nodeStatement(node, id(node.id))}`);
        classes[node.kind].push(id(node.id));
      }
      lines.push('    end');
    }
    lines.push('  end');
  }
  const linkIndexes: Record<GraphEdgeKind, number[]> = { controlPlane: [], reads: [], exports: [] };
  graph.edges.forEach((edge, index) => {
    const arrow = edge.bidirectional ? ARROWS[edge.kind].both : ARROWS[edge.kind].one;
    lines.push(`  ${id(edge.from)} ${arrow}|${label(edge.labels)}| ${id(edge.to)}`);
    linkIndexes[edge.kind].push(index);
  });
  lines.push(...CLASS_DEFS.map((c) => `  ${c}`));
  for (const [name, members] of Object.entries(classes)) {
    if (members.length > 0) lines.push(`  class ${members.join(',')} ${name}`);
  }
  for (const kind of Object.keys(linkIndexes) as GraphEdgeKind[]) {
    if (linkIndexes[kind].length > 0) lines.push(`  linkStyle ${linkIndexes[kind].join(',')} ${LINK_STYLES[kind]}`);
  }
  return `${lines.join('\n')}\n`;
}

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { graphCommand } from '../../src/cli/graph';
import { OutputError, TopologyError } from '../../src/errors';
import { escapeDotHtml, escapeDotString, toDot } from '../../src/graph/dot';
import { escapeMermaid, toMermaid } from '../../src/graph/mermaid';
import { GraphEdge, topologyGraph, TopologyGraph } from '../../src/graph/model';
import { renderSvg, toSvg } from '../../src/graph/svg';
import { loadTopology, parseTopology } from '../../src/model/load';
import { Topology } from '../../src/model/types';
import { FIXTURE_TOPOLOGIES, REPO, tmpDir } from '../helpers';

const fixture = (name: string) => path.join(FIXTURE_TOPOLOGIES, name);
const EXAMPLE = path.join(REPO, 'examples', 'mesh.yaml');

/** The edges of one kind, as `from -> to` (`<->` both ways) with their labels. */
function edgesOf(graph: TopologyGraph, kind: GraphEdge['kind']): string[] {
  return graph.edges.filter((e) => e.kind === kind).map((e) => `${e.from} ${e.bidirectional ? '<->' : '->'} ${e.to}${e.labels.length ? ` [${e.labels.join(', ')}]` : ''}`);
}

/** Every cluster and network name of a topology. */
function namesOf(topology: Topology): string[] {
  return topology.meshes.flatMap((m) => [...m.clusters.map((c) => c.name), ...m.clusters.map((c) => c.network)]);
}

/** A parsed XML element. */
interface XmlElement {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: XmlElement[];
  /** Character data directly inside, entities decoded. */
  text: string;
}

const NAME = /[A-Za-z_:][-A-Za-z0-9._:]*/y;

function decodeEntities(text: string, at: number): string {
  return text.replace(/&([^;]*);|&/g, (whole, ref: string | undefined) => {
    if (ref === undefined) throw new Error(`bare "&" near offset ${at}`);
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (ref in named) return named[ref];
    const num = /^#(?:x([0-9A-Fa-f]+)|([0-9]+))$/.exec(ref);
    if (!num) throw new Error(`unknown entity "${whole}" near offset ${at}`);
    return String.fromCodePoint(num[1] ? parseInt(num[1], 16) : Number(num[2]));
  });
}

/**
 * A strict XML well-formedness parser, enough for Graphviz's SVG: prolog,
 * DOCTYPE without an internal subset, comments, processing instructions,
 * CDATA, elements with quoted attributes, and checked entity references.
 * Throws on anything malformed.
 */
function parseXml(xml: string): XmlElement {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at offset ${i}: ${JSON.stringify(xml.slice(i, i + 40))}`);
  };
  const skipSpace = () => {
    while (i < xml.length && /\s/.test(xml[i])) i++;
  };
  const until = (end: string, what: string) => {
    const j = xml.indexOf(end, i);
    if (j < 0) fail(`unterminated ${what}`);
    const body = xml.slice(i, j);
    i = j + end.length;
    return body;
  };
  const name = () => {
    NAME.lastIndex = i;
    const m = NAME.exec(xml);
    if (!m) fail('expected a name');
    i += m![0].length;
    return m![0];
  };
  /** Comments, processing instructions and space; false when none was there. */
  const misc = (): boolean => {
    if (xml.startsWith('<!--', i)) {
      i += 4;
      if (until('-->', 'comment').includes('--')) fail('"--" inside a comment');
    } else if (xml.startsWith('<?', i)) {
      i += 2;
      until('?>', 'processing instruction');
    } else if (i < xml.length && /\s/.test(xml[i])) {
      skipSpace();
    } else return false;
    return true;
  };
  const element = (): XmlElement => {
    if (xml[i] !== '<') fail('expected "<"');
    i++;
    const el: XmlElement = { name: name(), attrs: {}, children: [], text: '' };
    for (;;) {
      const hadSpace = /\s/.test(xml[i] ?? '');
      skipSpace();
      if (xml.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (xml[i] === '>') {
        i++;
        break;
      }
      if (!hadSpace) fail('expected space before an attribute');
      const key = name();
      skipSpace();
      if (xml[i] !== '=') fail('expected "="');
      i++;
      skipSpace();
      const quote = xml[i];
      if (quote !== '"' && quote !== "'") fail('expected a quoted value');
      i++;
      const raw = until(quote, 'attribute value');
      if (raw.includes('<')) fail('"<" in an attribute value');
      if (key in el.attrs) fail(`duplicate attribute "${key}"`);
      el.attrs[key] = decodeEntities(raw, i);
    }
    for (;;) {
      if (i >= xml.length) fail(`unclosed <${el.name}>`);
      if (xml.startsWith('</', i)) {
        i += 2;
        const end = name();
        if (end !== el.name) fail(`</${end}> closes <${el.name}>`);
        skipSpace();
        if (xml[i] !== '>') fail('expected ">"');
        i++;
        return el;
      }
      if (xml.startsWith('<![CDATA[', i)) {
        i += 9;
        el.text += until(']]>', 'CDATA section');
      } else if (xml.startsWith('<!--', i) || xml.startsWith('<?', i)) {
        misc();
      } else if (xml[i] === '<') {
        el.children.push(element());
      } else {
        const j = xml.indexOf('<', i);
        const raw = xml.slice(i, j < 0 ? xml.length : j);
        if (raw.includes(']]>')) fail('"]]>" in text');
        el.text += decodeEntities(raw, i);
        i += raw.length;
      }
    }
  };
  if (xml.charCodeAt(0) === 0xfeff) i = 1;
  while (misc());
  if (xml.startsWith('<!DOCTYPE', i)) {
    const body = until('>', 'DOCTYPE');
    if (body.includes('[')) fail('internal DTD subsets are not supported');
    while (misc());
  }
  const root = element();
  while (misc());
  if (i !== xml.length) fail('content after the root element');
  return root;
}

/** All elements below `el` (itself included), depth first. */
function descendants(el: XmlElement): XmlElement[] {
  return [el, ...el.children.flatMap(descendants)];
}

/** The text of every `<text>` element of an SVG. */
function svgTexts(svg: string): string[] {
  return descendants(parseXml(svg))
    .filter((e) => e.name === 'text')
    .map((e) => e.text);
}

/**
 * Advance widths of Arial's regular face (the same as Helvetica's) for ASCII
 * 32 to 126, in thousandths of an em: the metrics Graphviz lays text out with.
 */
const ARIAL_WIDTHS = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space ! " # $ % & ' ( ) * + , - . /
  556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, // 0-9 : ; < = > ? @
  667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // A-Z
  278, 278, 278, 469, 556, 333, // [ \ ] ^ _ `
  556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, // a-z
  334, 260, 334, 584, // { | } ~
];

/** Width of `text` set in regular Arial at `size` points; other characters count as a digit. */
function arialWidth(text: string, size: number): number {
  return ([...text].reduce((sum, ch) => sum + (ARIAL_WIDTHS[ch.charCodeAt(0) - 32] ?? 556), 0) * size) / 1000;
}

/** A `<text>` element with the horizontal extent it takes when drawn in a font `widen` times as wide as Arial. */
interface DrawnText {
  readonly text: string;
  readonly y: number;
  readonly left: number;
  readonly right: number;
}

/**
 * Where each `<text>` of an SVG ends up in a font `widen` times as wide as
 * regular Arial. A text pinned with `textLength` and
 * `lengthAdjust="spacingAndGlyphs"` is drawn exactly that wide in any font;
 * any other grows with the font (bold counts as regular, so this errs on the
 * narrow side).
 */
function drawnTexts(svg: string, widen: number): DrawnText[] {
  return descendants(parseXml(svg))
    .filter((e) => e.name === 'text')
    .map((e) => {
      const pinned = e.attrs.lengthAdjust === 'spacingAndGlyphs' && e.attrs.textLength !== undefined;
      const width = pinned ? Number(e.attrs.textLength) : widen * arialWidth(e.text, Number(e.attrs['font-size']));
      const x = Number(e.attrs.x);
      const anchor = e.attrs['text-anchor'] ?? 'start';
      const left = anchor === 'middle' ? x - width / 2 : anchor === 'end' ? x - width : x;
      return { text: e.text, y: Number(e.attrs.y), left, right: left + width };
    });
}

/** Pairs of texts on one baseline that overlap, as `"a" overlaps "b" by N`. */
function overlaps(texts: readonly DrawnText[]): string[] {
  const found: string[] = [];
  const sorted = [...texts].sort((a, b) => a.y - b.y || a.left - b.left);
  for (const [i, a] of sorted.entries()) {
    for (const b of sorted.slice(i + 1)) {
      if (b.y !== a.y) break;
      if (b.left < a.right - 0.01) found.push(`${JSON.stringify(a.text)} overlaps ${JSON.stringify(b.text)} by ${(a.right - b.left).toFixed(2)}`);
    }
  }
  return found;
}

/** Runs `meshgen graph` in process; returns stdout, or the error it threw. */
async function graph(args: string[]): Promise<{ out: string; err: string; error?: unknown }> {
  let out = '';
  let err = '';
  const io = { out: (t: string) => (out += t), err: (t: string) => (err += t) };
  const cmd: Command = graphCommand(io).exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  try {
    await cmd.parseAsync(args, { from: 'user' });
    return { out, err };
  } catch (error) {
    return { out, err, error };
  }
}

describe('topologyGraph', () => {
  const mixed = topologyGraph(loadTopology(fixture('mixed.yaml')));

  it('draws a control-plane edge from each remote to its primary', () => {
    expect(edgesOf(mixed, 'controlPlane')).toEqual(['cluster:edge-1 -> cluster:cluster-west-1 [control plane]']);
  });

  it('groups clusters by network inside their mesh', () => {
    expect(mixed.groups.map((g) => [g.id, g.parent ?? ''])).toEqual([
      ['mesh:fleet', ''],
      ['network:fleet/network-east', 'mesh:fleet'],
      ['network:fleet/network-edge', 'mesh:fleet'],
      ['network:fleet/network-west', 'mesh:fleet'],
    ]);
    expect(mixed.nodes.map((n) => [n.name, n.kind, n.group])).toEqual([
      ['cluster-east-1', 'primary', 'network:fleet/network-east'],
      ['cluster-east-2', 'primary', 'network:fleet/network-east'],
      ['edge-1', 'remote', 'network:fleet/network-edge'],
      ['cluster-west-1', 'primary', 'network:fleet/network-west'],
    ]);
    expect(mixed.groups[0].details).toEqual(['mesh ID fleet-mesh', 'Istio 1.30.3, revision 1-30-3, from registry.example.com/istio']);
  });

  it('flags the clusters that get an east-west gateway, with its address where known', () => {
    expect(mixed.nodes.map((n) => [n.name, n.eastWestGateway, n.gatewayAddress])).toEqual([
      ['cluster-east-1', true, undefined],
      ['cluster-east-2', true, undefined],
      ['edge-1', true, undefined],
      ['cluster-west-1', true, 'eastwest.west-1.example.com'],
    ]);
    const single = topologyGraph(loadTopology(fixture('multi-primary-single-network.yaml')));
    expect(single.nodes.map((n) => n.eastWestGateway)).toEqual(single.nodes.map(() => false));
    // A federation export gives the exporting cluster a gateway even on one network; the importer gets none.
    const bundles = topologyGraph(loadTopology(fixture('federation-trust-bundles.yaml')));
    expect(bundles.nodes.map((n) => [n.name, n.eastWestGateway])).toEqual([
      ['cluster-a', false],
      ['cluster-b', true],
    ]);
  });

  it('draws who reads whose API once per pair, both ways between primaries', () => {
    expect(edgesOf(mixed, 'reads')).toEqual([
      'cluster:cluster-east-1 <-> cluster:cluster-east-2 [reads API]',
      'cluster:cluster-east-1 <-> cluster:cluster-west-1 [reads API]',
      'cluster:cluster-east-1 -> cluster:edge-1 [reads API]',
      'cluster:cluster-east-2 <-> cluster:cluster-west-1 [reads API]',
      'cluster:cluster-east-2 -> cluster:edge-1 [reads API]',
      'cluster:cluster-west-1 -> cluster:edge-1 [reads API]',
    ]);
  });

  it('draws exports from the exporting mesh to each importing mesh, labelled with the hosts', () => {
    const fed = topologyGraph(loadTopology(fixture('federation.yaml')));
    expect(edgesOf(fed, 'exports')).toEqual(['mesh:mesh-east -> mesh:mesh-west [ledger.payments.global]', 'mesh:mesh-west -> mesh:mesh-east [echo.demo.global]']);
    expect(fed.groups.filter((g) => g.kind === 'mesh').map((g) => g.details)).toEqual([
      ['Istio 1.30.3', 'trust domain east.example.com'],
      ['Istio 1.30.3', 'trust domain west.example.com'],
    ]);
  });

  it('draws an export from the clusters that run it when not all do, and merges hosts per edge', () => {
    const text = fs
      .readFileSync(fixture('federation.yaml'), 'utf8')
      .replace('      selector: {app.kubernetes.io/name: ledger}\n', '      selector: {app.kubernetes.io/name: ledger}\n      clusters: [cluster-east-2]\n')
      .concat(
        [
          '    - service: audit',
          '      namespace: payments',
          '      from: mesh-east',
          '      to: [mesh-west]',
          '      clusters: [cluster-east-2]',
          '      ports: [{number: 443, name: tls, protocol: TLS}]',
          '',
        ].join('\n'),
      );
    const fed = topologyGraph(parseTopology([{ file: fixture('federation.yaml'), text }]));
    expect(edgesOf(fed, 'exports')).toEqual([
      'cluster:cluster-east-2 -> mesh:mesh-west [audit.payments.global, ledger.payments.global]',
      'mesh:mesh-west -> mesh:mesh-east [echo.demo.global]',
    ]);
  });

  it('does not depend on the order of the input', () => {
    const topology = loadTopology(fixture('mixed.yaml'));
    const shuffled: Topology = { ...topology, meshes: topology.meshes.map((m) => ({ ...m, clusters: [...m.clusters].reverse() })) };
    expect(topologyGraph(shuffled)).toEqual(mixed);
  });
});

/** A graph whose names need every kind of escaping. */
const NASTY: TopologyGraph = {
  groups: [
    { id: 'mesh:m"1', kind: 'mesh', name: 'm"1', details: ['Istio <1.30> & "more"'] },
    { id: 'network:m"1/end', kind: 'network', name: 'end', parent: 'mesh:m"1', details: [] },
  ],
  nodes: [
    { id: 'cluster:a|b', kind: 'primary', name: 'a|b', group: 'network:m"1/end', eastWestGateway: true, gatewayAddress: '<gw> #1; `x`' },
    { id: 'cluster:a_b', kind: 'remote', name: 'a_b', group: 'network:m"1/end', eastWestGateway: false },
  ],
  edges: [{ kind: 'controlPlane', from: 'cluster:a_b', to: 'cluster:a|b', bidirectional: false, labels: ['say "hi"\\'] }],
};

describe('toMermaid', () => {
  it('nests networks in meshes, shapes nodes by role and styles edges by kind', () => {
    const text = toMermaid(topologyGraph(loadTopology(fixture('mixed.yaml'))));
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('flowchart LR');
    expect(lines.slice(1, 7)).toEqual([
      '  subgraph mesh_fleet["mesh fleet<br/>mesh ID fleet-mesh<br/>Istio 1.30.3, revision 1-30-3, from registry.example.com/istio"]',
      '    subgraph net_fleet_network_east["network network-east"]',
      '      cluster_cluster_east_1["cluster-east-1<br/>primary<br/>east-west gateway"]',
      '      cluster_cluster_east_2["cluster-east-2<br/>primary<br/>east-west gateway"]',
      '    end',
      '    subgraph net_fleet_network_edge["network network-edge"]',
    ]);
    expect(text).toContain('      cluster_edge_1(["edge-1<br/>remote<br/>east-west gateway"])\n');
    expect(text).toContain('      cluster_cluster_west_1["cluster-west-1<br/>primary<br/>east-west gateway at<br/>eastwest.west-1.example.com"]\n');
    expect(lines.filter((l) => l.trim().startsWith('subgraph ')).length).toBe(lines.filter((l) => l.trim() === 'end').length);
    expect(text).toContain('  cluster_edge_1 -->|"control plane"| cluster_cluster_west_1\n');
    expect(text).toContain('  cluster_cluster_east_1 <-.->|"reads API"| cluster_cluster_east_2\n');
    expect(text).toContain('  cluster_cluster_west_1 -.->|"reads API"| cluster_edge_1\n');
    expect(text).toMatch(/\n {2}linkStyle 0 stroke:#c2410c[^\n]*\n {2}linkStyle 1,2,3,4,5,6 stroke:#475569/);
    expect(text).toContain('  class cluster_edge_1 remote\n');
  });

  it('links exports to the importing mesh subgraph', () => {
    const text = toMermaid(topologyGraph(loadTopology(fixture('federation.yaml'))));
    expect(text).toContain('  mesh_mesh_east ==>|"ledger.payments.global"| mesh_mesh_west\n');
    expect(text).toContain('  mesh_mesh_west ==>|"echo.demo.global"| mesh_mesh_east\n');
  });

  it('escapes labels and makes safe, distinct ids', () => {
    expect(escapeMermaid('a "b" <c> #d; |e| `f` & g\nh')).toBe('a #34;b#34; #60;c#62; #35;d#59; #124;e#124; #96;f#96; #38; g#10;h');
    const text = toMermaid(NASTY);
    expect(text).toContain('  subgraph mesh_m_1["mesh m#34;1<br/>Istio #60;1.30#62; #38; #34;more#34;"]\n');
    expect(text).toContain('    subgraph net_m_1_end["network end"]\n');
    expect(text).toContain('      cluster_a_b["a#124;b<br/>primary<br/>east-west gateway at<br/>#60;gw#62; #35;1#59; #96;x#96;"]\n');
    expect(text).toContain('      cluster_a_b_2(["a_b<br/>remote"])\n');
    expect(text).toContain('  cluster_a_b_2 -->|"say #34;hi#34;#92;"| cluster_a_b\n');
    // Outside the escapes, a quoted label holds none of Mermaid's delimiters.
    for (const m of text.matchAll(/"([^"\n]*)"/g)) expect(m[1].replace(/<br\/>|#\d+;/g, '')).not.toMatch(/[<>|`;#&\\]/);
  });
});

describe('toDot', () => {
  it('lays out left to right with nested clusters and one style per edge kind', () => {
    const dot = toDot(topologyGraph(loadTopology(fixture('mixed.yaml'))));
    expect(dot).toMatch(/^digraph meshgen \{\n {2}graph \[rankdir="LR", compound="true"/);
    expect(dot).toMatch(/subgraph "cluster_mesh:fleet" \{\n[^\n]*\n {4}subgraph "cluster_network:fleet\/network-west" \{/);
    // Control-plane edges are laid out primary → remote, pointing back at the primary.
    expect(dot).toContain('"cluster:cluster-west-1" -> "cluster:edge-1" [color="#c2410c", fontcolor="#c2410c", penwidth="2", style="solid", label=<control plane>, dir="back"];');
    expect(dot).toContain('"cluster:cluster-east-1" -> "cluster:cluster-east-2" [color="#64748b", fontcolor="#475569", penwidth="1.2", style="dashed", arrowsize="0.8", dir="both", constraint="false"];');
    expect(dot).toContain('<B>control plane</B>');
    expect(dot).not.toContain('<B>exports</B>');
    // A legend entry's name and meaning are lines of their own, never two spans of one line.
    expect(dot).toContain('<TD ALIGN="LEFT"><B>primary</B><BR ALIGN="LEFT"/>runs istiod<BR ALIGN="LEFT"/></TD>');
    expect(dot).not.toMatch(/<\/B>(<\/FONT>)?:/);
  });

  it('attaches exports to the mesh boxes, laid out in mesh name order', () => {
    const dot = toDot(topologyGraph(loadTopology(fixture('federation.yaml'))));
    expect(dot).toContain('"cluster:cluster-east-1" -> "cluster:cluster-west-1" [color="#15803d", fontcolor="#15803d", penwidth="2.5", style="bold", label=<ledger.payments.global>, ltail="cluster_mesh:mesh-east", lhead="cluster_mesh:mesh-west"];');
    expect(dot).toContain('"cluster:cluster-east-1" -> "cluster:cluster-west-1" [color="#15803d", fontcolor="#15803d", penwidth="2.5", style="bold", label=<echo.demo.global>, dir="back", ltail="cluster_mesh:mesh-east", lhead="cluster_mesh:mesh-west"];');
    expect(dot).toContain('<B>exports</B>');
  });

  it('escapes strings and HTML labels', () => {
    expect(escapeDotString('a"b\\c\nd')).toBe('a\\"b\\\\c d');
    expect(escapeDotHtml('<a & "b">')).toBe('&lt;a &amp; &quot;b&quot;&gt;');
    const dot = toDot(NASTY);
    expect(dot).toContain('subgraph "cluster_mesh:m\\"1" {');
    expect(dot).toContain('<B>mesh m&quot;1</B><BR ALIGN="LEFT"/><FONT POINT-SIZE="10">Istio &lt;1.30&gt; &amp; &quot;more&quot;</FONT>');
    expect(dot).toContain('"cluster:a|b" [');
    expect(dot).toContain('label=<say &quot;hi&quot;\\>');
  });
});

describe('SVG', () => {
  const cases = [
    ['examples/mesh.yaml', EXAMPLE],
    ['mixed.yaml', fixture('mixed.yaml')],
    ['federation.yaml', fixture('federation.yaml')],
  ] as const;

  it.each(cases)('renders %s as well-formed SVG naming every cluster and network', async (_name, file) => {
    const topology = loadTopology(file);
    const svg = await toSvg(topologyGraph(topology));
    const root = parseXml(svg);
    expect(root.name).toBe('svg');
    expect(root.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
    const texts = svgTexts(svg);
    for (const name of namesOf(topology)) expect(texts.some((t) => t.includes(name)), name).toBe(true);
    for (const mesh of topology.meshes) expect(texts).toContain(`mesh ${mesh.name}`);
  });

  it('labels exports with their hosts and is byte-stable', async () => {
    const graph = topologyGraph(loadTopology(fixture('federation.yaml')));
    const svg = await toSvg(graph);
    expect(svgTexts(svg)).toEqual(expect.arrayContaining(['echo.demo.global', 'ledger.payments.global']));
    expect(await toSvg(graph)).toBe(svg);
  });

  const pictures = async () => [...(await Promise.all(cases.map(async ([name, file]) => [name, await toSvg(topologyGraph(loadTopology(file)))] as const))), ['NASTY', await toSvg(NASTY)] as const];

  it('keeps texts on one line apart even in a font 15% wider than Arial', async () => {
    for (const [name, svg] of await pictures()) {
      expect(overlaps(drawnTexts(svg, 1.15)), name).toEqual([]);
    }
  });

  it('pins each text to the width Graphviz laid it out with', async () => {
    for (const [name, svg] of await pictures()) {
      const texts = descendants(parseXml(svg)).filter((e) => e.name === 'text');
      expect(texts.length, name).toBeGreaterThan(0);
      for (const e of texts) {
        expect(e.attrs.lengthAdjust, `${name}: ${e.text}`).toBe('spacingAndGlyphs');
        const width = arialWidth(e.text, Number(e.attrs['font-size']));
        // Bold Arial is wider than regular; regular text is exactly as wide as Arial's metrics say.
        if (e.attrs['font-weight'] === 'bold') expect(Number(e.attrs.textLength), `${name}: ${e.text}`).toBeGreaterThan(width);
        else expect(Number(e.attrs.textLength), `${name}: ${e.text}`).toBeCloseTo(width, 1);
      }
    }
  });

  it('names fonts with Arial metrics before a generic sans-serif', async () => {
    for (const [name, svg] of await pictures()) {
      const families = new Set(descendants(parseXml(svg)).flatMap((e) => (e.attrs['font-family'] === undefined ? [] : [e.attrs['font-family']])));
      expect([...families], name).toEqual(["Arial, 'Liberation Sans', Arimo, Helvetica, sans-serif"]);
    }
  });

  it('finds overlapping texts in the test helpers', () => {
    const line = (attrs: string) => `<svg><text text-anchor="start" x="0" y="-5" font-size="10.00">primary</text><text text-anchor="start" x="36.68" y="-5" font-size="10.00"${attrs}>: runs istiod</text></svg>`;
    expect(overlaps(drawnTexts(line(''), 1))).toEqual([]);
    expect(overlaps(drawnTexts(line(''), 1.15))).toEqual(['"primary" overlaps ": runs istiod" by 1.65']);
    const pinned = line('').replace('>primary<', ' textLength="36.68" lengthAdjust="spacingAndGlyphs">primary<');
    expect(overlaps(drawnTexts(pinned, 1.15))).toEqual([]);
  });

  it('needs no font fallback and gives Graphviz no warnings', async () => {
    const { instance } = await import('@viz-js/viz');
    const viz = await instance();
    for (const [, file] of cases) {
      const result = viz.render(toDot(topologyGraph(loadTopology(file))), { format: 'svg' });
      expect(result.status).toBe('success');
      expect(result.errors).toEqual([]);
    }
  });

  it('reports DOT that Graphviz cannot read as an OutputError', async () => {
    const err = await renderSvg('digraph { a -> }').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputError);
    expect((err as Error).message).toMatch(/^Graphviz cannot render the graph as SVG\n {2}.*syntax error/);
  });

  it('rejects malformed XML in the test parser', () => {
    for (const bad of ['<svg><g></svg>', '<svg a="1" a="2"/>', '<svg>&nbsp;</svg>', '<svg>a & b</svg>', '<svg/><svg/>', '<svg a=1/>']) {
      expect(() => parseXml(bad), bad).toThrow();
    }
    expect(parseXml('<?xml version="1.0"?>\n<!DOCTYPE svg>\n<!-- c -->\n<svg a="&lt;&#45;&#x41;"><t>x<![CDATA[<y>]]></t></svg>\n').children[0].text).toBe('x<y>');
  });
});

describe('meshgen graph', () => {
  it('prints Mermaid by default', async () => {
    const r = await graph(['-f', fixture('mixed.yaml')]);
    expect(r.error).toBeUndefined();
    expect(r.out).toBe(toMermaid(topologyGraph(loadTopology(fixture('mixed.yaml')))));
  });

  it('prints DOT with --format dot', async () => {
    const r = await graph(['-f', EXAMPLE, '--format', 'dot']);
    expect(r.out).toBe(toDot(topologyGraph(loadTopology(EXAMPLE))));
  });

  it('writes SVG to the -o file and summarizes on stdout', async () => {
    const out = path.join(tmpDir(), 'mesh.svg');
    const r = await graph(['-f', fixture('federation.yaml'), '--format', 'svg', '-o', out]);
    expect(r.error).toBeUndefined();
    expect(r.out).toBe(`graph of 2 meshes, 3 clusters written to ${out} (svg)\n`);
    expect(parseXml(fs.readFileSync(out, 'utf8')).name).toBe('svg');
  });

  it('fails with a usage error on an unknown format', async () => {
    const r = await graph(['-f', EXAMPLE, '--format', 'png']);
    expect(r.error).toBeInstanceOf(CommanderError);
    expect((r.error as CommanderError).code).toBe('commander.invalidArgument');
    expect(r.err).toMatch(/Allowed choices are mermaid, svg, dot/);
    expect(r.out).toBe('');
  });

  it('fails with a usage error on an empty -o', async () => {
    const r = await graph(['-f', EXAMPLE, '-o', '']);
    expect((r.error as CommanderError).exitCode).toBe(2);
  });

  it('fails with TopologyError on a missing file and OutputError on an unwritable output', async () => {
    expect((await graph(['-f', path.join(tmpDir(), 'nope.yaml')])).error).toBeInstanceOf(TopologyError);
    const r = await graph(['-f', EXAMPLE, '-o', path.join(tmpDir(), 'missing', 'out.mmd')]);
    expect(r.error).toBeInstanceOf(OutputError);
    expect((r.error as Error).message).toMatch(/^cannot write .*out\.mmd: ENOENT/);
  });

  it('loads the WebAssembly Graphviz only for SVG (built lib/)', () => {
    const script = [
      `const { graphCommand } = require(${JSON.stringify(path.join(REPO, 'lib', 'src', 'cli', 'graph.js'))});`,
      'const io = { out: () => {}, err: () => {} };',
      `graphCommand(io).parseAsync(['-f', ${JSON.stringify(EXAMPLE)}, '--format', process.argv[1]], { from: 'user' })`,
      "  .then(() => console.log(Object.keys(require.cache).some((k) => k.includes('@viz-js'))));",
    ].join('\n');
    const run = (format: string) => spawnSync(process.execPath, ['-e', script, format], { encoding: 'utf8' });
    expect(run('mermaid').stdout.trim()).toBe('false');
    expect(run('svg').stdout.trim()).toBe('true');
  });
});

describe('docs pictures', () => {
  it('are what `npm run docs` draws from the current example and mixed fixture', async () => {
    const repo = REPO;
    for (const [source, picture] of [
      ['examples/mesh.yaml', 'docs/example.svg'],
      ['test/fixtures/topologies/mixed.yaml', 'docs/mixed.svg'],
    ]) {
      const svg = await toSvg(topologyGraph(loadTopology(path.join(repo, source))));
      expect(svg, `${picture}: run npm run build && npm run docs`).toBe(fs.readFileSync(path.join(repo, picture), 'utf8'));
    }
  });
});

describe('ambient meshes', () => {
  const AMBIENT = fixture('ambient-multi-network.yaml');
  // The same clusters and networks with sidecars: Istio's sidecar multi-primary, multi-network mesh.
  const SIDECAR = fixture('multi-primary-multi-network.yaml');
  const ambient = topologyGraph(loadTopology(AMBIENT));
  const sidecar = topologyGraph(loadTopology(SIDECAR));

  it('says ambient on the mesh, with its waypoints, and gives every cluster an HBONE east-west gateway', () => {
    expect(ambient.groups[0].details).toEqual(['Istio 1.30.3', 'ambient data plane', 'waypoint sample/waypoint for service']);
    expect(ambient.nodes.map((n) => [n.name, n.dataplane, n.eastWestGateway])).toEqual([
      ['cluster1', 'ambient', true],
      ['cluster2', 'ambient', true],
      ['cluster3', 'ambient', true],
    ]);
    expect(sidecar.groups[0].details).toEqual(['Istio 1.30.3']);
    expect(sidecar.nodes.map((n) => n.dataplane)).toEqual(['sidecar', 'sidecar']);
  });

  it('notes ztunnel and the istio-east-west gateway class in Mermaid', () => {
    const text = toMermaid(ambient);
    expect(text).toContain('  subgraph mesh_mesh1["mesh mesh1<br/>Istio 1.30.3<br/>ambient data plane<br/>waypoint sample/waypoint for service"]\n');
    for (const name of ['cluster1', 'cluster2', 'cluster3']) {
      expect(text).toContain(`      cluster_${name}["${name}<br/>primary<br/>ztunnel<br/>east-west gateway<br/>class istio-east-west, HBONE 15008"]\n`);
    }
    expect(toMermaid(sidecar)).toContain('      cluster_cluster1["cluster1<br/>primary<br/>east-west gateway"]\n');
    expect(toMermaid(sidecar)).not.toMatch(/ambient|ztunnel|istio-east-west|HBONE/);
  });

  it('notes ztunnel and the istio-east-west gateway class in DOT, and explains them in the legend', () => {
    const dot = toDot(ambient);
    expect(dot).toContain('<FONT POINT-SIZE="10">ambient data plane</FONT>');
    expect(dot).toContain(
      'label=<<B>cluster2</B><BR/><FONT POINT-SIZE="10">primary</FONT><BR/><FONT POINT-SIZE="10">ztunnel</FONT><BR/><FONT POINT-SIZE="10">east-west gateway</FONT><BR/><FONT POINT-SIZE="10">class istio-east-west, HBONE 15008</FONT>>',
    );
    expect(dot).toContain(
      '<TR><TD><FONT POINT-SIZE="10">ztunnel</FONT></TD><TD ALIGN="LEFT"><B>ambient</B><BR ALIGN="LEFT"/>ztunnel on every node, no sidecars;<BR ALIGN="LEFT"/>east-west gateway: class istio-east-west, HBONE 15008<BR ALIGN="LEFT"/></TD></TR>',
    );
    expect(toDot(sidecar)).not.toMatch(/ambient|ztunnel|istio-east-west|HBONE/);
  });

  it('puts the gateway address before its class, and no gateway class on a cluster without a gateway', () => {
    const text = fs.readFileSync(AMBIENT, 'utf8').replace('      network: network2\n', '      network: network2\n      eastWestGateway: {address: eastwest.cluster2.example.com}\n');
    const graph = topologyGraph(parseTopology([{ file: AMBIENT, text }]));
    expect(toMermaid(graph)).toContain('      cluster_cluster2["cluster2<br/>primary<br/>ztunnel<br/>east-west gateway at<br/>eastwest.cluster2.example.com<br/>class istio-east-west, HBONE 15008"]\n');
    const lone: TopologyGraph = { ...ambient, nodes: [{ ...ambient.nodes[0], eastWestGateway: false }], edges: [] };
    expect(toMermaid(lone)).toContain('      cluster_cluster1["cluster1<br/>primary<br/>ztunnel"]\n');
  });

  it('renders as SVG that names the data plane, keeps texts apart and gives Graphviz no warnings', async () => {
    const svg = await toSvg(ambient);
    const texts = svgTexts(svg);
    expect(texts).toEqual(expect.arrayContaining(['ambient data plane', 'ztunnel', 'class istio-east-west, HBONE 15008', 'east-west gateway: class istio-east-west, HBONE 15008']));
    expect(overlaps(drawnTexts(svg, 1.15))).toEqual([]);
    for (const e of descendants(parseXml(svg)).filter((el) => el.name === 'text')) expect(e.attrs.lengthAdjust, e.text).toBe('spacingAndGlyphs');
    const { instance } = await import('@viz-js/viz');
    const result = (await instance()).render(toDot(ambient), { format: 'svg' });
    expect(result.status).toBe('success');
    expect(result.errors).toEqual([]);
  });
});

/**
 * The fast YAML writer against the `yaml` library it stands in for: equal
 * text for any JSON-like value, including the strings YAML 1.1 reads as
 * something else, and for every kind of manifest meshgen writes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { libraryYaml, toYaml } from '../src/yaml-text';

const tricky = fc.constantFrom(
  '', ' ', 'a b', 'true', 'True', 'no', 'NO', 'y', 'on', 'off', 'null', '~', '0', '007', '0x1F', '1e5', '.5', '.inf', '-', '- a', 'a: b', 'a:', ':a',
  '#x', 'a #b', '2026-01-01', '1:20', '12:30:45', 'https://10.0.0.1:6443', 'istio/multiCluster', 'ca-cert.pem', 'sha256:abc', '@x', '!x', '&a', '*a', '|',
  '>', "'q'", '"q"', '{a}', '[a]', 'a,b', 'é', '🚀', 'tab\there', 'line\n', 'two\nlines', 'trailing \nspace\n', '\nleading', 'x\n\n', ' lead\nx',
  'LS0tLS1CRUdJTiBDRVJU+/=', '=', 'a=b', 'key=value', '%x', '`x', '?x', '? x', 'a\r\nb',
);
const key = fc.oneof(fc.string({ maxLength: 8 }), tricky);
const leaf = fc.oneof(fc.string({ maxLength: 12 }), tricky, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, tie('map'), tie('list')),
  map: fc.dictionary(key, tie('node'), { maxKeys: 4 }),
  list: fc.array(tie('node'), { maxLength: 3 }),
})).map;

describe('toYaml', () => {
  it('writes exactly what the yaml library writes, for any JSON-like mapping', () => {
    fc.assert(
      fc.property(value, (obj) => {
        expect(toYaml(obj)).toBe(libraryYaml(obj));
      }),
      { numRuns: 3000, seed: 42 },
    );
  });

  it('writes a remote kubeconfig and a Secret as the library does, without falling back', () => {
    const kubeconfig = {
      apiVersion: 'v1',
      clusters: [{ cluster: { 'certificate-authority-data': 'LS0tLS1CRUdJTi', server: 'https://172.18.0.3:6443', 'tls-server-name': 'cluster2.internal' }, name: 'cluster2' }],
      contexts: [{ context: { cluster: 'cluster2', user: 'cluster2' }, name: 'cluster2' }],
      'current-context': 'cluster2',
      kind: 'Config',
      users: [{ name: 'cluster2', user: { token: 'eyJhbGciOiJSUzI1NiJ9.abc' } }],
    };
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { annotations: { 'networking.istio.io/cluster': 'cluster2' }, labels: { 'istio/multiCluster': 'true' }, name: 'istio-remote-secret-cluster2', namespace: 'istio-system' },
      stringData: { cluster2: toYaml(kubeconfig) },
    };
    expect(toYaml(kubeconfig)).toBe(libraryYaml(kubeconfig));
    expect(toYaml(secret)).toBe(libraryYaml(secret));
  });
});

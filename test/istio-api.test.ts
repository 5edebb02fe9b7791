import { describe, expect, it } from 'vitest';
import { checkAgainstCrd, checkIstioOperator, checkValues } from './helpers/istio-api';

// The checkers themselves must be able to fail; the generated objects are checked in test/synth.
describe('Istio API checkers', () => {
  const gateway = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Gateway',
    metadata: { name: 'g' },
    spec: { selector: { istio: 'x' }, servers: [{ port: { number: 15443, name: 'tls', protocol: 'TLS' }, tls: { mode: 'AUTO_PASSTHROUGH' }, hosts: ['*.local'] }] },
  };

  it('accepts a valid Gateway', () => {
    expect(checkAgainstCrd(gateway)).toEqual([]);
  });

  it('rejects a misspelt field, a bad enum and a wrong type', () => {
    const bad = JSON.parse(JSON.stringify(gateway));
    bad.spec.servers[0].tls.mode = 'AUTO_UNDERSCORE_PASSTHROUGH';
    bad.spec.servers[0].port.numbr = 1;
    bad.spec.selector = 'x';
    const problems = checkAgainstCrd(bad).join('\n');
    expect(problems).toMatch(/\/spec\/servers\/0\/tls\/mode must be equal to one of the allowed values/);
    expect(problems).toMatch(/\/spec\/servers\/0\/port must NOT have additional properties.*numbr/);
    expect(problems).toMatch(/\/spec\/selector must be object/);
  });

  it('knows no CRD for kinds Istio does not serve', () => {
    expect(() => checkAgainstCrd({ apiVersion: 'networking.istio.io/v1', kind: 'Gatewey' })).toThrow(/no Istio 1\.30\.3 CRD/);
  });

  it('checks values keys against values_types.proto', () => {
    expect(
      checkValues({
        global: { meshID: 'm', multiCluster: { clusterName: 'c' }, network: 'n', proxy: { privileged: true } },
        gateways: { 'istio-ingressgateway': { injectionTemplate: 'gateway' } },
        pilot: { env: { ANY_NAME: 'x' } },
      }),
    ).toEqual([]);
    expect(checkValues({ global: { meshId: 'm', multiCluster: { clustername: 'c' } }, gateway: {} })).toEqual([
      'values.global.meshId: not a field of GlobalConfig',
      'values.global.multiCluster.clustername: not a field of MultiClusterConfig',
      'values.gateway: not a field of Values',
    ]);
  });

  it('checks IstioOperator spec fields against types.go', () => {
    const iop = {
      apiVersion: 'install.istio.io/v1alpha1',
      kind: 'IstioOperator',
      metadata: { name: 'x' },
      spec: { profile: 'empty', components: { ingressGateways: [{ name: 'g', enabled: true, label: { a: 'b' }, k8s: { env: [], servce: {} } }] }, valuez: {} },
    };
    expect(checkIstioOperator(iop)).toEqual([
      'spec.components.ingressGateways[0].k8s.servce: not a field of KubernetesResources',
      'spec.valuez: not a field of IstioOperatorSpec',
    ]);
  });
});

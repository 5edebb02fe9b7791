import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { synthWithExtras } from '../examples/library';
import { readTree, runCli, workspace } from './helpers';

describe('examples/library.ts', () => {
  it('builds the same folders as the CLI, plus its own object listed in the kustomization', async () => {
    const ws = workspace();
    const cli = runCli(['synth', '-f', ws.file, '-o', 'cli-dist'], ws.dir);
    expect(cli.code).toBe(0);
    await synthWithExtras(ws.file, ws.out);
    const lib = readTree(ws.out);
    const viaCli = readTree(path.join(ws.dir, 'cli-dist'));
    for (const [file, content] of Object.entries(viaCli)) {
      if (file.endsWith('kustomization.yaml') || file.endsWith('README.md')) continue;
      expect(lib[file], file).toBe(content);
    }
    const extra = parse(lib['cluster2/configmap.istio-system.mesh-info.yaml']);
    expect(extra.data).toEqual({ meshID: 'mesh1', cluster: 'cluster2', network: 'network2' });
    expect(parse(lib['cluster2/kustomization.yaml']).resources).toContain('configmap.istio-system.mesh-info.yaml');
    expect(fs.existsSync(path.join(ws.out, 'cluster1', '.meshgen-output'))).toBe(true);
  });
});

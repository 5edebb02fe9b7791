/**
 * Test environment: no user kubeconfig leaks in. Topologies that default to
 * kubeconfig credentials see none, unless a test points at a fixture.
 */
import * as path from 'node:path';

process.env.KUBECONFIG = path.join(__dirname, 'fixtures', 'kubeconfig', 'does-not-exist.yaml');


/**
 * Test environment: no user kubeconfig leaks in. Topologies that default to
 * kubeconfig credentials see none, unless a test points at a fixture.
 */
import * as path from 'node:path';

process.env.KUBECONFIG = path.join(__dirname, 'fixtures', 'kubeconfig', 'does-not-exist.yaml');

// The output's stamp cache of each test worker, not the user's: outputs of tests come and go by the thousand.
import * as os from 'node:os';
process.env.MESHGEN_CACHE_DIR = path.join(os.tmpdir(), `meshgen-test-cache-${process.pid}`);

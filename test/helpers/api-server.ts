/**
 * The kube-apiserver kit (a real v1.20 API server with etcd on loopback)
 * for the integration tests: where it is, and starting and stopping one
 * server per cluster. The kit comes from $KUBE_APISERVER_KIT,
 * ../shared/kube-apiserver beside the repository, or
 * /work/shared/kube-apiserver; without it a test fails, it does not skip.
 * etcd is installed once by test/global-setup.ts, so servers may start side by side.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO, tmpDir } from './index';

const run = promisify(execFile);

/** The kit's folder. */
export const KIT =
  process.env.KUBE_APISERVER_KIT ??
  [path.resolve(REPO, '..', 'shared', 'kube-apiserver'), '/work/shared/kube-apiserver'].find((dir) => fs.existsSync(path.join(dir, 'start.sh'))) ??
  path.resolve(REPO, '..', 'shared', 'kube-apiserver');

/** A running server: its folder and the admin kubeconfig start.sh wrote. */
export interface ApiServer {
  readonly dir: string;
  readonly kubeconfig: string;
}

/**
 * Starts a server with Istio's CRDs in a temp folder named after `name`. On a loaded machine start.sh's own
 * wait for the CRDs can run out: that server is stopped and one more is started, in a folder of its own.
 */
export async function startApiServer(name: string): Promise<ApiServer> {
  if (!fs.existsSync(path.join(KIT, 'start.sh'))) {
    throw new Error(`kube-apiserver kit not found at ${KIT}: set KUBE_APISERVER_KIT to the folder holding start.sh`);
  }
  for (let attempt = 1; ; attempt++) {
    const dir = tmpDir(`meshgen-kapi-${name}-`);
    try {
      const { stdout } = await run(path.join(KIT, 'start.sh'), ['--istio-crds', dir], { timeout: 180_000 });
      const m = /export KUBECONFIG=(\S+)/.exec(stdout);
      if (!m) throw new Error(`start.sh printed no KUBECONFIG: ${stdout}`);
      return { dir, kubeconfig: m[1] };
    } catch (err) {
      await run(path.join(KIT, 'stop.sh'), [dir]).catch(() => undefined);
      if (attempt >= 2) throw err;
    }
  }
}

/** Stops servers; never throws (a server that is gone is stopped). */
export async function stopApiServers(servers: Iterable<ApiServer>): Promise<void> {
  await Promise.all([...servers].map((s) => run(path.join(KIT, 'stop.sh'), [s.dir]).catch(() => undefined)));
}

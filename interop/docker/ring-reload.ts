/**
 * The reload cell in containers (interop/README.md, "reload"; SPEC.md Part IX §6): the ring of
 * containers grows by one daemon container and shrinks back by configuration reload. The
 * compose project's spread.conf (one file, bind-mounted into every daemon) is rewritten in
 * place, the new daemon runs with `docker run` on the project's network at the next fixed
 * address, and our spmonitor sends the RELOAD from the client container.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removedMessage, type RingGrowth } from '../reload-ring.js';
import { clientContainer, CONF_PATH, layoutNodes, OURS_IMAGE, REFERENCE_IMAGE, ringConf, RING_PORT } from './compose.js';
import { docker, type DockerNode, type DockerRing } from './ring.js';

/** The network the compose project's daemons are on (`<project>_ring` for both compose clients). */
async function projectNetwork(ring: DockerRing): Promise<string> {
  const out = await docker(['inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', ring.nodes[0]!.container]);
  return out.trim().split(/\s+/)[0]!;
}

/** RELOAD to every daemon of `confText`: our spmonitor in the client container, as daemon n0. */
async function sendReload(ring: DockerRing, confText: string): Promise<void> {
  const file = join(ring.dir, 'monitor.conf');
  writeFileSync(file, confText, { mode: 0o644 });
  await docker(['cp', file, `${clientContainer(ring.layout)}:/tmp/monitor.conf`]);
  const r = await ring.runClient(['node', '/opt/spread-ts/bin/spmonitor.js', '-c', '/tmp/monitor.conf', '-n', ring.nodes[0]!.name, '-p', '4900', 'reload'], 30_000);
  if (r.code !== 0) throw new Error(`spmonitor reload in the client container: exit ${r.code}: ${r.out.slice(-1500)}`);
}

/** One more daemon container of the arrangement's last implementation, and back. */
export function dockerGrowth(ring: DockerRing, confExtra: string, started: string[]): RingGrowth {
  const confPath = join(ring.dir, 'spread.conf');
  return {
    async grow(): Promise<DockerNode> {
      const added = ring.layout.impls.at(-1)!;
      const bigger = { ...ring.layout, impls: [...ring.layout.impls, added] };
      const spec = layoutNodes(bigger).at(-1)!;
      const text = ringConf(bigger, confExtra);
      writeFileSync(confPath, text); // in place: the daemons' bind mount sees it
      const image = added === 'ours' ? (ring.layout.oursImage ?? OURS_IMAGE) : (ring.layout.referenceImage ?? REFERENCE_IMAGE);
      const since = Date.now() / 1000;
      started.push(spec.container);
      await docker(['run', '-d', '--name', spec.container, '--hostname', spec.name, '--network', await projectNetwork(ring), '--ip', spec.address,
        '-v', `${confPath}:${CONF_PATH}:ro`, image, '-c', CONF_PATH, '-n', spec.name], 120_000);
      const node: DockerNode = { ...spec, spread: `${RING_PORT}@${spec.address}`, alive: true, since, isolated: false };
      ring.nodes.push(node);
      await ring.waitForRing(1, 30_000, [node.index]);
      await sendReload(ring, text);
      await ring.waitForRing(ring.nodes.filter((n) => n.alive).length, 60_000);
      return node;
    },
    async shrink(victim: number): Promise<void> {
      const gone = ring.nodes[victim]!;
      const bigger = readFileSync(confPath, 'utf8');
      writeFileSync(confPath, ringConf(ring.layout, confExtra));
      gone.alive = false;
      await sendReload(ring, bigger);
      await docker(['wait', gone.container], 30_000);
      const log = await ring.log(victim);
      if (!log.includes(removedMessage(gone.name))) throw new Error(`${gone.name} exited without "${removedMessage(gone.name)}": ${log.slice(-1500)}`);
      await ring.waitForRing(ring.nodes.filter((n) => n.alive).length, 60_000);
    },
  };
}

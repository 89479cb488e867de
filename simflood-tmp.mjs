import { DaemonSim, simConfig } from './dist/src/sim/daemons.js';
const N = Number(process.argv[2] ?? 20000), size = Number(process.argv[3] ?? 1000);
const sim = new DaemonSim(simConfig(3), { seed: 7 });
for (const d of sim.daemons) sim.start(d.index, 0);
sim.runUntilTrue(() => sim.daemons.every((d) => d.ringKey !== '' && d.node.membership.status().regularMembers.length === 3), 20000);
const w = sim.connect(0, 'w'); const r = sim.connect(2, 'r');
sim.run(sim.now + 5); r.join('g'); sim.run(sim.now + 50);
const text = 'x'.repeat(size);
const t0 = performance.now();
let sent = 0; const batch = 50;
let delivered = 0; r.received.push = (...a) => { delivered += a.length; return 0; };
while (sent < N) { for (let i = 0; i < batch && sent < N; i++, sent++) w.multicast(0x10, ['g'], text); sim.runUntilTrue(() => delivered >= sent - 400, 2000); }
sim.runUntilTrue(() => delivered >= N, 5000);
const dt = performance.now() - t0;
console.log(JSON.stringify({ N, size, ms: dt.toFixed(0), usPerMsg: (dt * 1000 / N).toFixed(2), delivered, virtualMs: sim.now.toFixed(0), datagrams: sim.datagrams }));

/** The deterministic simulator (SPEC.md Part V §13): ring mode and whole-daemon mode. */
export { Prng } from './prng.js';
export { EventHeap } from './heap.js';
export { Simulation, runScenario, type SimOptions, type SimResult, SimNode, CONF_HASH } from './simulation.js';
export { Checker } from './checker.js';
export { randomScenario, makeWorkload, floodWorkload, deliveryBound, procIdOf, type Scenario, type ScenarioOverrides, type WorkItem } from './scenario.js';
export { runSeed, sweep, replayCommand, failureReport, summarize, describeScenario } from './run.js';
export { formatDatagram } from './trace.js';
export { Network, type NetworkFaults } from './network.js';
export { DaemonSim, SimDaemon, clientMessage, simConfig, idKey, type DaemonSimOptions, type LogEntry, type SimConfigOptions } from './daemons.js';
export { checkEvs, currentRings, stableRings, settle } from './evs.js';
export { SimClient } from './client.js';

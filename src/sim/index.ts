/** Deterministic simulation of the operational ring (SPEC.md Part V §13). */
export { Prng } from './prng.js';
export { EventHeap } from './heap.js';
export { Simulation, runScenario, type SimOptions, type SimResult, SimNode, CONF_HASH } from './simulation.js';
export { Checker } from './checker.js';
export { randomScenario, makeWorkload, floodWorkload, deliveryBound, procIdOf, type Scenario, type ScenarioOverrides, type WorkItem } from './scenario.js';
export { runSeed, sweep, replayCommand, failureReport, summarize, describeScenario } from './run.js';
export { formatDatagram } from './trace.js';

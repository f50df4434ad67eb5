"""Experiments: single runs, replicates, (later) sweeps, executors and the results store."""

"""Keras Tuner sweeps from the sweep config group."""

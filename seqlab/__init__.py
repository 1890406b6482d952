"""seqlab: sequence-model experiments (SimpleRNN, LSTM, GRU, Conv1D) from composed Hydra configs."""

__version__ = "0.1.0"

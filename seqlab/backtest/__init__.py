"""`seqlab backtest`: rolling-origin evaluation of a forecasting run (plan, retraining, scores, outputs)."""

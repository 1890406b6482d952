"""Screen variants of the imdb_bilstm preset: validation *and* test accuracy after every epoch.

Diagnosis only: the preset is chosen on validation; test is printed to see where the test optimum lies
relative to the epoch that early stopping would pick. The model mirrors `experiment=imdb_bilstm`
(embedding -> BiLSTM(units) -> masked max pool -> dropout -> sigmoid) with a few extra knobs that seqlab
does not expose. Results of the runs in docs/RESULTS.md ("IMDB ... second round") are from this script.

    SEQLAB_DATA_DIR=../shared/datasets python docs/experiments/imdb_screen.py --seed 1 --tag preset
    ... --batch 128 | --sdrop 0.3 | --wdrop 0.2 | --pool meanmax | --ema 0.995 | --max_tokens 10000
    ... --emb 64 | --lr 5e-4

Each line printed (and appended to --out) is one epoch as JSON. The vectorised splits are cached per
(seed, max_tokens, length) in --cache so that variants skip the 50k-review tokenisation.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--emb", type=int, default=128, help="embedding dimension")
    p.add_argument("--units", type=int, default=64, help="LSTM units per direction")
    p.add_argument("--drop", type=float, default=0.2, help="LSTM input dropout and head dropout")
    p.add_argument("--sdrop", type=float, default=0.0, help="SpatialDropout1D on the embeddings")
    p.add_argument("--wdrop", type=float, default=0.0, help="word dropout: drop whole tokens (masked) in training")
    p.add_argument("--pool", default="max", choices=["max", "meanmax"])
    p.add_argument("--ema", type=float, default=0.0, help="Adam use_ema with this momentum (0: off)")
    p.add_argument("--max_tokens", type=int, default=20000)
    p.add_argument("--len", type=int, default=300)
    p.add_argument("--tag", default="")
    p.add_argument("--cache", default="/tmp/imdb_screen")
    p.add_argument("--out", default="/tmp/imdb_screen/screen.jsonl")
    a = p.parse_args()

    Path(a.cache).mkdir(parents=True, exist_ok=True)
    cache = Path(a.cache) / f"s{a.seed}_v{a.max_tokens}_l{a.len}.npz"
    if not cache.exists():
        from seqlab.config.store import compose
        from seqlab.data import load

        cfg = compose(["experiment=imdb_bilstm", f"seed={a.seed}", f"dataset.max_tokens={a.max_tokens}",
                       f"dataset.sequence_length={a.len}"])
        splits, spec = load(cfg.dataset, os.environ.get("SEQLAB_DATA_DIR"), a.seed)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, xtr=splits.train.x, ytr=splits.train.y, xva=splits.val.x, yva=splits.val.y,
                 xte=splits.test.x, yte=splits.test.y, vocab=spec.vocab_size)
        tmp.replace(cache)
    d = np.load(cache)

    import keras
    from keras import layers

    from seqlab.models.layers import MaskedMaxPooling1D

    keras.utils.set_random_seed(a.seed)
    inp = keras.Input((a.len,), dtype="int32")
    x = layers.Embedding(int(d["vocab"]), a.emb, mask_zero=True)(inp)
    if a.sdrop:
        x = layers.SpatialDropout1D(a.sdrop)(x)
    x = layers.Bidirectional(layers.LSTM(a.units, return_sequences=True, dropout=a.drop))(x)
    if a.pool == "max":
        x = MaskedMaxPooling1D()(x)
    else:
        x = layers.Concatenate()([MaskedMaxPooling1D()(x), layers.GlobalAveragePooling1D()(x)])
    x = layers.Dropout(a.drop)(x)
    model = keras.Model(inp, layers.Dense(1, activation="sigmoid")(x))
    # note: model.fit swaps the EMA weights in at the end of every fit() call, i.e. after every epoch here
    opt = keras.optimizers.Adam(a.lr, use_ema=bool(a.ema), ema_momentum=a.ema or 0.99)
    model.compile(optimizer=opt, loss="binary_crossentropy", metrics=["accuracy"])

    xtr, ytr = d["xtr"], d["ytr"]
    for epoch in range(1, a.epochs + 1):
        xe = xtr
        if a.wdrop:  # dropped tokens become padding, which the mask skips
            keep = np.random.default_rng(a.seed * 1000 + epoch).random(xtr.shape) >= a.wdrop
            xe = np.where(keep, xtr, 0)
        t = time.time()
        hist = model.fit(xe, ytr, batch_size=a.batch, epochs=1, shuffle=True, verbose=0)
        seconds = time.time() - t
        va = model.evaluate(d["xva"], d["yva"], batch_size=512, verbose=0, return_dict=True)
        te = model.evaluate(d["xte"], d["yte"], batch_size=512, verbose=0, return_dict=True)
        row = dict(tag=a.tag, seed=a.seed, epoch=epoch, train_loss=round(hist.history["loss"][0], 4),
                   val_loss=round(va["loss"], 4), val_acc=round(va["accuracy"], 4),
                   test_acc=round(te["accuracy"], 4), test_loss=round(te["loss"], 4), sec=round(seconds))
        print(json.dumps(row), flush=True)
        with open(a.out, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

"""Screen variants of the imdb_bilstm preset: validation *and* test accuracy after every epoch.

Diagnosis only: the preset is chosen on validation; test is printed to see where the test optimum lies
relative to the epoch that early stopping would pick. The model mirrors `experiment=imdb_bilstm`
(embedding -> BiLSTM(units) -> masked max pool -> dropout -> sigmoid) with a few extra knobs that seqlab
does not expose. Results in docs/RESULTS.md (IMDB, second and third rounds) are from this script.

    SEQLAB_DATA_DIR=../shared/datasets python docs/experiments/imdb_screen.py --seed 1 --tag preset
    ... --batch 128 | --sdrop 0.3 | --wdrop 0.2 | --pool meanmax | --ema 0.995 | --max_tokens 10000
    ... --emb 64 | --lr 5e-4 | --eval_len 0 | --crop | --w2v | --skip | --punct | --probs | --adv 0.3

Each line printed (and appended to --out) is one epoch as JSON. Whole reviews are tokenised once per
(seed, max_tokens) and cached in --cache; every length and crop is cut from that cache. Besides the
training length (`--len`, the last tokens of a review as in the preset), validation and test are also
scored at `--eval_len` tokens (0: the whole review), which the length-agnostic model allows. `--w2v` needs
`pip install gensim` (not a seqlab dependency: it was tried here and did not help).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import string
import time
from pathlib import Path

import numpy as np

WHOLE = 3000  # tokens: longer than the longest IMDB review (~2,500 words), so nothing is cut


def lengths(x: np.ndarray) -> np.ndarray:
    return (x != 0).sum(axis=1)  # padding (0) only ever sits at the end; OOV is 1


def last(x: np.ndarray, n: np.ndarray, length: int) -> np.ndarray:
    """The last `length` tokens of each review, padded at the end (the preset's truncate=pre)."""
    out = np.zeros((len(x), length), np.int32)
    for i, (row, k) in enumerate(zip(x, n)):
        keep = row[max(0, k - length):k]
        out[i, :len(keep)] = keep
    return out


def crop(x: np.ndarray, n: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """A random window of `length` tokens from each longer review (a fresh draw every epoch)."""
    out = np.zeros((len(x), length), np.int32)
    for i, (row, k) in enumerate(zip(x, n)):
        start = rng.integers(0, k - length + 1) if k > length else 0
        keep = row[start:start + length]
        out[i, :len(keep)] = keep
    return out


def word2vec(x: np.ndarray, n: np.ndarray, vocab: int, dim: int, seed: int) -> np.ndarray:
    """Skip-gram vectors trained on the training reviews only (no outside data), one row per token id."""
    from gensim.models import Word2Vec

    sentences = [[str(t) for t in row[:k]] for row, k in zip(x, n)]
    w2v = Word2Vec(sentences, vector_size=dim, window=5, min_count=1, sg=1, negative=5, epochs=5,
                   workers=2, seed=seed)
    rng = np.random.default_rng(seed)
    table = rng.uniform(-0.05, 0.05, (vocab, dim)).astype(np.float32)
    hit = [int(k) for k in w2v.wv.index_to_key]
    vecs = w2v.wv[w2v.wv.index_to_key]
    table[hit] = vecs / vecs.std() * 0.05 * 3 ** -0.5 * 2  # same spread as the default uniform(-0.05, 0.05)
    table[0] = 0.0
    return table


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
    p.add_argument("--skip", action="store_true",
                   help="concatenate the embeddings to the BiLSTM outputs before pooling (RCNN, Lai et al. 2015)")
    p.add_argument("--ema", type=float, default=0.0, help="Adam use_ema with this momentum (0: off)")
    p.add_argument("--max_tokens", type=int, default=20000)
    p.add_argument("--punct", action="store_true", help="keep '!' and '?' as tokens (seqlab strips punctuation)")
    p.add_argument("--len", type=int, default=300, help="training length (last tokens, unless --crop)")
    p.add_argument("--crop", action="store_true", help="train on a random --len window of each longer review")
    p.add_argument("--eval_len", type=int, default=0, help="also score val/test at this length (0: whole)")
    p.add_argument("--w2v", action="store_true", help="initialise embeddings with word2vec on the train split")
    p.add_argument("--probs", action="store_true",
                   help="save each epoch's val/test probabilities to --cache (for epoch and seed ensembles)")
    p.add_argument("--adv", type=float, default=0.0,
                   help="adversarial training on the embeddings (Miyato et al. 2017): perturbation norm in units "
                        "of the review's RMS word-vector norm (0: off)")
    p.add_argument("--tag", default="")
    p.add_argument("--cache", default="/tmp/imdb_screen")
    p.add_argument("--out", default="/tmp/imdb_screen/screen.jsonl")
    a = p.parse_args()

    Path(a.cache).mkdir(parents=True, exist_ok=True)
    cache = Path(a.cache) / f"s{a.seed}_v{a.max_tokens}{'_punct' if a.punct else ''}_whole.npz"
    if not cache.exists():
        from seqlab.config.store import compose
        from seqlab.data import load

        if a.punct:
            import seqlab.data.text as text

            def standardize(t):
                import tensorflow as tf

                t = tf.strings.regex_replace(tf.strings.lower(t), r"<br\s*/?>", " ")
                t = tf.strings.regex_replace(t, r"([!?])", r" \1 ")
                return tf.strings.regex_replace(t, "[%s]" % re.escape(string.punctuation.replace("!", "")
                                                                      .replace("?", "")), "")

            text.standardize = standardize

        cfg = compose(["experiment=imdb_bilstm", f"seed={a.seed}", f"dataset.max_tokens={a.max_tokens}",
                       f"dataset.sequence_length={WHOLE}", "dataset.truncate=post"])
        splits, spec = load(cfg.dataset, os.environ.get("SEQLAB_DATA_DIR"), a.seed)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, xtr=splits.train.x, ytr=splits.train.y, xva=splits.val.x, yva=splits.val.y,
                 xte=splits.test.x, yte=splits.test.y, vocab=spec.vocab_size)
        tmp.replace(cache)
    d = np.load(cache)
    vocab = int(d["vocab"])
    whole = {s: (d["x" + s], lengths(d["x" + s]), d["y" + s]) for s in ("tr", "va", "te")}
    assert all(n.max() < WHOLE for _, n, _ in whole.values()), "a review filled the whole-review cache"

    import keras
    import tensorflow as tf
    from keras import layers, ops

    from seqlab.models.layers import MaskedMaxPooling1D

    keras.utils.set_random_seed(a.seed)
    init = "uniform"
    if a.w2v:
        t = time.time()
        table = word2vec(*whole["tr"][:2], vocab, a.emb, a.seed)
        init = keras.initializers.Constant(table)
        print(json.dumps(dict(tag=a.tag, word2vec_sec=round(time.time() - t))), flush=True)
    class Screen(keras.Model):
        """embedding -> [SpatialDropout1D] -> BiLSTM -> [concat embeddings] -> masked pool -> dropout -> sigmoid."""

        def __init__(self):
            super().__init__()
            self.embed = layers.Embedding(vocab, a.emb, embeddings_initializer=init)
            self.sdrop = layers.SpatialDropout1D(a.sdrop) if a.sdrop else None
            self.rnn = layers.Bidirectional(layers.LSTM(a.units, return_sequences=True, dropout=a.drop))
            self.maxpool = MaskedMaxPooling1D()
            self.drop = layers.Dropout(a.drop)
            self.head = layers.Dense(1, activation="sigmoid")
            self.loss_mean = keras.metrics.Mean(name="loss")

        def body(self, e, mask, training=False):
            x = self.sdrop(e, training=training) if self.sdrop else e
            x = self.rnn(x, mask=mask, training=training)
            if a.skip:
                x = ops.concatenate([e, x], axis=-1)
            pooled = self.maxpool(x, mask=mask)
            if a.pool == "meanmax":
                m = ops.expand_dims(ops.cast(mask, x.dtype), -1)
                pooled = ops.concatenate([pooled, ops.sum(x * m, 1) / ops.maximum(ops.sum(m, 1), 1.0)], -1)
            return self.head(self.drop(pooled, training=training))

        def call(self, tokens, training=False):
            return self.body(self.embed(tokens), tokens != 0, training)

        @property
        def metrics(self):
            return [self.loss_mean]

        def train_step(self, data):
            tokens, y = data
            y = ops.cast(ops.reshape(y, (-1, 1)), "float32")
            mask = tokens != 0
            with tf.GradientTape() as tape:
                e = self.embed(tokens)
                with tf.GradientTape() as inner:
                    inner.watch(e)
                    loss = ops.mean(keras.losses.binary_crossentropy(y, self.body(e, mask, True)))
                if a.adv:
                    g = tf.stop_gradient(inner.gradient(loss, e))
                    m = ops.expand_dims(ops.cast(mask, e.dtype), -1)
                    words = ops.maximum(ops.sum(m, axis=(1, 2)), 1.0)
                    rms_word = ops.sqrt(ops.sum(ops.square(e) * m, axis=(1, 2)) / words)  # per review
                    g_norm = ops.sqrt(ops.sum(ops.square(g), axis=(1, 2))) + 1e-12
                    r = tf.stop_gradient(g * ops.reshape(a.adv * rms_word / g_norm, (-1, 1, 1)))
                    adv = ops.mean(keras.losses.binary_crossentropy(y, self.body(e + r, mask, True)))
                    loss = 0.5 * (loss + adv)  # the mean of the clean and adversarial loss, as seqlab trains
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
            self.loss_mean.update_state(loss)
            return {"loss": self.loss_mean.result()}

    model = Screen()
    # note: model.fit swaps the EMA weights in at the end of every fit() call, i.e. after every epoch here
    opt = keras.optimizers.Adam(a.lr, use_ema=bool(a.ema), ema_momentum=a.ema or 0.99)
    model.compile(optimizer=opt)
    predict = tf.function(lambda z: model(z, training=False), input_signature=[tf.TensorSpec([None, None], tf.int32)])

    def score(split: str, length: int) -> dict:
        """Accuracy and log loss at `length` last tokens (0: whole review), in length-sorted batches."""
        x, n, y = whole[split]
        n_cut = np.minimum(n, length) if length else n
        order = np.argsort(n_cut)
        probs = np.zeros(len(y), np.float64)
        for i in range(0, len(order), 500):
            idx = order[i:i + 500]
            width = int(np.ceil(max(n_cut[idx].max(), 1) / 50) * 50)
            probs[idx] = predict(last(x[idx], n[idx], width if not length else min(width, length))).numpy()[:, 0]
        eps = 1e-7
        p = np.clip(probs, eps, 1 - eps)
        return dict(acc=round(float(np.mean((probs > 0.5) == y)), 4),
                    loss=round(float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))), 4), probs=probs)

    xtr_n, ntr, ytr = whole["tr"]
    rng = np.random.default_rng(a.seed + 12345)
    for epoch in range(1, a.epochs + 1):
        xe = crop(xtr_n, ntr, a.len, rng) if a.crop else last(xtr_n, ntr, a.len)
        if a.wdrop:  # dropped tokens become padding, which the mask skips
            keep = np.random.default_rng(a.seed * 1000 + epoch).random(xe.shape) >= a.wdrop
            xe = np.where(keep, xe, 0)
        t = time.time()
        hist = model.fit(xe, ytr, batch_size=a.batch, epochs=1, shuffle=True, verbose=0)
        seconds = time.time() - t
        va, te = score("va", a.len), score("te", a.len)
        vl, tl = score("va", a.eval_len), score("te", a.eval_len)
        row = dict(tag=a.tag, seed=a.seed, epoch=epoch, train_loss=round(hist.history["loss"][0], 4),
                   val_loss=va["loss"], val_acc=va["acc"], test_acc=te["acc"], test_loss=te["loss"],
                   long_val_loss=vl["loss"], long_val_acc=vl["acc"], long_test_acc=tl["acc"],
                   long_test_loss=tl["loss"], sec=round(seconds))
        if a.probs:
            np.savez(Path(a.cache) / f"probs_{a.tag}_s{a.seed}_e{epoch}.npz", va=va["probs"], te=te["probs"],
                     long_va=vl["probs"], long_te=tl["probs"])
        print(json.dumps(row), flush=True)
        with open(a.out, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

"""The statistics of `seqlab compare`: means with t intervals, paired tests, Holm, average ranks and Nemenyi's CD.

NumPy and SciPy only (no TensorFlow), so a comparison starts in a second.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np
from scipy import stats as st

ALPHA = 0.05


def summarize(values: Sequence[float], level: float = 0.95) -> Dict[str, float]:
    """n, mean, sample standard deviation and the two-sided Student-t confidence interval of the mean."""
    x = np.asarray(values, dtype=np.float64)
    n = int(x.size)
    mean = float(x.mean()) if n else math.nan
    std = float(x.std(ddof=1)) if n > 1 else math.nan
    half = float(st.t.ppf(0.5 + level / 2, n - 1) * std / math.sqrt(n)) if n > 1 else math.nan
    return {"n": n, "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}


def paired_test(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Dict[str, Optional[float]]:
    """Paired t-test of a - b over the same seeds: mean difference, its t interval, p; Wilcoxon signed-rank's p too.

    Pairing removes what a seed does to both (its data split, its initialisation): the test sees only the
    differences, so two models whose scores move together over seeds are told apart with few seeds. Wilcoxon's p is
    given from 5 pairs up (with n pairs its smallest two-sided p is 2 / 2**n: 0.0625 for 5)."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    n = int(d.size)
    out: Dict[str, Optional[float]] = {"n": n, "diff": float(d.mean()) if n else math.nan, "ci_low": math.nan,
                                       "ci_high": math.nan, "p": math.nan, "p_wilcoxon": None}
    if n < 2:
        return out
    sd = float(d.std(ddof=1))
    if sd == 0.0:  # identical differences: certain when not zero
        out.update(ci_low=out["diff"], ci_high=out["diff"], p=1.0 if out["diff"] == 0 else 0.0)
    else:
        se = sd / math.sqrt(n)
        half = float(st.t.ppf(0.5 + level / 2, n - 1)) * se
        out.update(ci_low=out["diff"] - half, ci_high=out["diff"] + half,
                   p=float(2 * st.t.sf(abs(out["diff"]) / se, n - 1)))
    if n >= 5 and np.any(d != 0):
        out["p_wilcoxon"] = float(st.wilcoxon(d).pvalue)
    return out


def unpaired_test(a: Sequence[float], b: Sequence[float]) -> float:
    """Welch's two-sample t-test p (ignores the seeds' pairing; for comparison with paired_test)."""
    return float(st.ttest_ind(np.asarray(a, float), np.asarray(b, float), equal_var=False).pvalue)


def holm(pvalues: Sequence[float]) -> List[float]:
    """Holm's step-down adjusted p-values (family-wise error control for several comparisons), in input order."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for i, j in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[j]))  # NaN-safe: a NaN p stays NaN below
        adjusted[j] = running if not math.isnan(p[j]) else math.nan
    return adjusted.tolist()


def ranks(table: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """(datasets, groups) scores -> ranks per dataset, 1 = best, ties sharing the average rank."""
    t = np.asarray(table, dtype=np.float64)
    return np.vstack([st.rankdata(-row if higher_is_better else row) for row in t])


def nemenyi_cd(k: int, n_datasets: int, alpha: float = ALPHA) -> float:
    """Nemenyi's critical difference of average ranks (Demšar 2006): q_alpha * sqrt(k (k + 1) / (6 N)), with
    q_alpha the studentized range quantile over sqrt(2) (1.960, 2.343, 2.569 for 2, 3, 4 groups at 0.05)."""
    q = float(st.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
    return q * math.sqrt(k * (k + 1) / (6.0 * n_datasets))


def friedman(table: np.ndarray) -> Optional[float]:
    """Friedman's test p over (datasets, groups): whether the groups' ranks differ at all (3+ groups, 2+ datasets)."""
    t = np.asarray(table, dtype=np.float64)
    if t.shape[1] < 3 or t.shape[0] < 2:
        return None
    return float(st.friedmanchisquare(*t.T).pvalue)


def fmt(x: Optional[float], digits: int = 3) -> str:
    """A number for a sentence: 3 significant digits, '-' for missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}g}"


def fmt_p(p: Optional[float]) -> str:
    """`p = 0.035`, `p < 0.001`, `p = 0.40`; `p = -` when there is none."""
    if p is None or math.isnan(p):
        return "p = -"
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}" if p < 0.1 else f"p = {p:.2f}"

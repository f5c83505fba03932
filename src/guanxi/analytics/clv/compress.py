"""Checked model inputs and their compression to distinct (x, t_x, T) triples with counts.

Every BG/NBD or Pareto/NBD likelihood term depends on a customer only through (x, t_x, T), and
real summaries repeat the same triples many times (a day-based summary over two years holds at
most a few hundred thousand distinct ones however many customers there are). Fitting on the
distinct triples weighted by their counts gives exactly the same log-likelihood at a cost that
does not grow with the number of customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from guanxi.errors import N_

FloatArray = NDArray[np.float64]


class FitFailed(ValueError):
    """A model could not be fitted (or its input is unusable); the message says why in words.

    ``template`` is the English message marked for translation and ``params`` fill it, so a page
    can show it translated. Callers must not write scores from a failed fit.
    """

    def __init__(self, template: str, **params: Any) -> None:
        self.template = template
        self.params = params
        super().__init__(template.format(**params) if params else template)


def as_array(values: ArrayLike, name: str) -> FloatArray:
    """``values`` as a flat float64 array (a pandas/Polars column, list or array)."""
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(array)):
        raise FitFailed(N_("{name} contains missing or infinite values"), name=name)
    return array


def check_summary(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803 - T is the model's name for a customer's age
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The three summary columns as arrays, checked: same length, not empty, 0 <= recency <= T,
    frequency >= 0. Recency is set to 0 where frequency is 0 (it carries no information there).
    """
    x = as_array(frequency, "frequency")
    t_x = as_array(recency, "recency")
    age = as_array(T, "T")
    if not (x.size == t_x.size == age.size):
        raise FitFailed(N_("frequency, recency and T must have the same length"))
    if x.size == 0:
        raise FitFailed(N_("there are no customers to fit"))
    if np.any(x < 0):
        raise FitFailed(N_("frequency must not be negative"))
    if np.any(t_x < 0):
        raise FitFailed(N_("recency must not be negative"))
    if np.any(t_x > age * (1 + 1e-12)):
        raise FitFailed(N_("recency must not be greater than the customer's age T"))
    t_x = np.where(x > 0, np.minimum(t_x, age), 0.0)
    return x, t_x, age


@dataclass(frozen=True)
class Triples:
    """Distinct (x, t_x, T) summaries and how many customers share each one."""

    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    count: FloatArray

    @property
    def n_customers(self) -> int:
        """The number of customers the triples stand for."""
        return int(self.count.sum())


def compress(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803 - T is the model's name for a customer's age
) -> Triples:
    """The distinct (frequency, recency, T) triples with their customer counts (inputs checked),
    ordered by frequency, then T, then recency."""
    x, t_x, age = check_summary(frequency, recency, T)
    (ux, cx), (u_age, c_age), (ut, ct) = codes(x), codes(age), codes(t_x)
    key = (cx * u_age.size + c_age) * ut.size + ct
    cells = ux.size * u_age.size * ut.size
    if cells <= max(4 * key.size, 1 << 22):
        # day-based summaries: few enough cells to count without sorting
        tally = np.bincount(key, minlength=cells)
        distinct = np.flatnonzero(tally)
        count = tally[distinct]
    else:
        distinct, count = np.unique(key, return_counts=True)
    rest, it = np.divmod(distinct, ut.size)
    ix, i_age = np.divmod(rest, u_age.size)
    return Triples(x=ux[ix], t_x=ut[it], T=u_age[i_age], count=count.astype(np.float64))


def codes(values: FloatArray) -> tuple[FloatArray, NDArray[np.int64]]:
    """Distinct values (ascending) and each value's index among them.

    Summaries in days (or weeks, days / 7) take whole values over a short range; those are coded
    arithmetically in linear time, anything else by sorting.
    """
    if values.size == 0:
        return values.copy(), np.zeros(0, dtype=np.int64)
    for scale in (1.0, 7.0):
        scaled = values * scale
        whole = np.rint(scaled)
        low, high = float(whole.min()), float(whole.max())
        if high - low <= 4 * values.size + 1024 and np.all(np.abs(scaled - whole) < 1e-9):
            offsets = (whole - low).astype(np.int64, copy=False)
            present = np.bincount(offsets, minlength=int(high - low) + 1) > 0
            position = np.cumsum(present) - 1
            distinct = (np.flatnonzero(present) + low) / scale
            return distinct.astype(np.float64), position[offsets].astype(np.int64, copy=False)
    distinct, inverse = np.unique(values, return_inverse=True)
    return distinct.astype(np.float64), inverse.reshape(-1).astype(np.int64)


def unique_with_inverse(*columns: FloatArray) -> tuple[list[FloatArray], NDArray[np.int64]]:
    """Distinct rows of the given columns and, per input row, the index of its distinct row.

    Predictions use it to evaluate costly special functions once per distinct summary.
    """
    coded = [codes(column) for column in columns]
    key = np.zeros(columns[0].size, dtype=np.int64)
    cells = 1
    for distinct, code in coded:
        key = key * distinct.size + code
        cells *= distinct.size
    if cells <= max(4 * key.size, 1 << 22):
        # day-based summaries: few enough cells to number the present ones without sorting
        present = np.bincount(key, minlength=cells) > 0
        rows = np.flatnonzero(present)
        inverse = (np.cumsum(present) - 1)[key]
    else:
        rows, inverse = np.unique(key, return_inverse=True)
    values = []
    for distinct, _ in reversed(coded):
        rows, index = np.divmod(rows, distinct.size)
        values.append(distinct[index])
    return values[::-1], inverse.reshape(-1)


def dot(left: FloatArray, right: FloatArray) -> float:
    """Inner product without BLAS: on a busy machine threaded BLAS can stall a 1-D dot for
    milliseconds, many times the arithmetic, and the optimiser takes hundreds of them."""
    return float(np.einsum("i,i->", left, right))


def totals(index: NDArray[np.int64], weights: FloatArray, size: int) -> FloatArray:
    """Sum of ``weights`` per group ``index`` (0..size-1)."""
    return np.bincount(index, weights=weights, minlength=size).astype(np.float64, copy=False)


def coarsen(triples: Triples, bins: int = 64) -> Triples:
    """The triples with recency and T rounded to the middle of 1/``bins`` of the longest T.

    A few thousand triples whatever the data; the maximum likelihood on them lies close to the
    exact one (parameters within about 1% on day-based data), a cheap start for the full fit.
    """
    width = float(triples.T.max()) / bins or 1.0
    age = (np.floor(triples.T / width) + 0.5) * width
    recency = (np.floor(triples.t_x / width) + 0.5) * width
    t_x = np.where(triples.x > 0, np.minimum(recency, age), 0.0)
    (x, t_x, age), index = unique_with_inverse(triples.x, t_x, age)
    return Triples(x=x, t_x=t_x, T=age, count=totals(index, triples.count, x.size))

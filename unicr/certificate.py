"""Result objects: what every radius says about itself (docs/concepts.md).

A :class:`Certificate` is never a bare float.  ``lower`` is proven <= R*,
``upper`` is proven >= R* (with a :class:`Witness` perturbation that fails the
Neyman-Pearson test), ``estimate`` carries no guarantee, and ``confidence`` is
the probability that ``lower``/``upper`` hold (1.0 for deterministic numerics).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, overload

import numpy as np

from unicr.checks import parse_norm, validate_probabilities

__all__ = ["Certificate", "CertificateArray", "Witness", "parse_norm", "norm_label",
           "validate_probabilities", "REPR_MAX", "dataframe", "PANDAS_HINT"]

#: what to install for the ``to_dataframe()`` methods (pandas is an optional dependency)
PANDAS_HINT = "pip install unicr[notebook]"

#: the longest ``repr`` of a :class:`Certificate` or :class:`CertificateArray` (characters)
REPR_MAX = 200


def norm_label(p: float) -> str:
    """'1', '2', 'inf', '0.5' ..."""
    if math.isinf(p):
        return "inf"
    return f"{p:g}"


@dataclass(frozen=True)
class Witness:
    """A perturbation that fails the Neyman-Pearson test (proof of an ``upper`` bound).

    ``direction`` describes the perturbation family (for product noise, e.g.
    ``{"kind": "k-equal", "k": 1}`` means ``delta = a * (1,...,1,0,...,0)`` with ``k``
    non-zero coordinates; ``{"kind": "two-level", ...}`` two magnitudes; ``"vector"``
    an explicit vector), ``scale`` is the magnitude ``a`` and ``norm_value`` its l_p norm.
    """

    direction: dict[str, Any]
    scale: float
    norm_value: float
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Certificate:
    """A certified radius and everything needed to trust it.

    Attributes
    ----------
    lower:
        proven <= R* (0.0 when nothing better is proven; ``nan`` never appears).
    upper:
        proven >= R* (``inf`` when no failing perturbation was found).
    estimate:
        point estimate without guarantee, or ``None``.
    confidence:
        probability that ``lower``/``upper`` hold (1.0 for deterministic numerics).
    abstain:
        True when no certificate is possible (binary pA <= 1/2, or pA <= pB): this is
        not the same as "certified at radius 0".
    """

    lower: float
    upper: float
    estimate: float | None
    confidence: float
    method: str
    norm: float
    d: int
    pa: float
    pb: float | None
    assumptions: tuple[str, ...] = ()
    witness: Witness | None = None
    abstain: bool = False
    noise: dict[str, Any] = field(default_factory=dict)
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        for name in ("lower", "upper"):
            v = getattr(self, name)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                raise ValueError(f"Certificate.{name} must be a number, got {v!r}")
        if self.lower < 0:
            raise ValueError(f"Certificate.lower must be >= 0, got {self.lower}")
        if self.lower > self.upper * (1 + 1e-9) + 1e-15:
            raise ValueError(f"Certificate with lower {self.lower} > upper {self.upper}")

    @property
    def exact(self) -> bool:
        """True when lower and upper agree within the stated relative tolerance."""
        if self.abstain:
            return False
        if math.isinf(self.upper):
            return False
        tol = max(self.tolerance, 1e-12)
        return self.upper - self.lower <= tol * max(self.upper, 1e-300)

    @property
    def status(self) -> str:
        """'abstain', 'exact', 'bracketed' (finite lower and upper), 'lower-only', 'estimate'."""
        if self.abstain:
            return "abstain"
        if self.exact:
            return "exact"
        if math.isfinite(self.upper) and self.lower > 0:
            return "bracketed"
        if self.lower > 0:
            return "lower-only"
        return "estimate" if self.estimate is not None else "bracketed"

    @property
    def gap(self) -> float:
        """upper / lower (inf when lower is 0)."""
        if self.lower <= 0:
            return math.inf
        return self.upper / self.lower

    # -- display: one line for repr/print, the full record in describe() and notebooks --

    def __repr__(self) -> str:
        """One line of at most :data:`REPR_MAX` characters; :meth:`describe` has everything."""
        pb = "" if self.pb is None else f", pB={self.pb:.6g}"
        est = ""
        if self.estimate is not None and self.status not in ("exact", "abstain"):
            est = f", estimate={_num(self.estimate)}"
        text = (f"Certificate(lower={_num(self.lower)}, upper={_num(self.upper)}{est}, "
                f"status={self.status}, confidence={self.confidence:.6g}, "
                f"method={_short(self.method, 24)}, norm=l{norm_label(self.norm)}, d={self.d}, "
                f"pA={self.pa:.6g}{pb})")
        return _clip(text)

    def summary_rows(self) -> list[tuple[str, str]]:
        """``(field, value)`` pairs of the full record, in the order :meth:`describe` shows them."""
        side = "binary (pB = 1 - pA)" if self.pb is None else f"{self.pb:.10g}"
        rows = [
            ("status", self.status),
            ("lower (proven <= R*)", _num(self.lower, 10)),
            ("upper (proven >= R*)", _num(self.upper, 10)),
        ]
        if self.estimate is not None:
            what = "estimate" if self.status not in ("exact", "abstain") else \
                "estimate (inside the proven band)"
            rows.append((what, _num(self.estimate, 10)))
        rows += [
            ("confidence", f"{self.confidence:.10g}"),
            ("method", self.method),
            ("norm", f"l{norm_label(self.norm)}"),
            ("d", str(self.d)),
            ("pA", f"{self.pa:.10g}"),
            ("pB", side),
        ]
        if self.tolerance:
            rows.append(("tolerance (relative)", f"{self.tolerance:g}"))
        if self.noise:
            rows.append(("noise", _noise_text(self.noise)))
        if self.witness is not None:
            w = self.witness
            rows.append(("witness", f"{w.direction}, scale {_num(w.scale, 10)}, "
                                    f"l{norm_label(self.norm)} norm {_num(w.norm_value, 10)}"))
        return rows

    def describe(self) -> str:
        """The full record as text: every field, the witness and each assumption on its line."""
        rows = self.summary_rows()
        width = max(len(k) for k, _ in rows)
        lines = ["Certificate"] + [f"  {k:<{width}}  {v}" for k, v in rows]
        if self.assumptions:
            lines.append("  assumptions:")
            lines += [f"    - {a}" for a in self.assumptions]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        rows = self.summary_rows()
        out = ["| certificate | |", "|---|---|"]
        out += [f"| {k} | {_md_cell(v)} |" for k, v in rows]
        if self.assumptions:
            out.append("")
            out += [f"- {a}" for a in self.assumptions]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
                       for k, v in self.summary_rows())
        notes = "".join(f"<li>{html.escape(a)}</li>" for a in self.assumptions)
        return (f"<table><caption>Certificate</caption>{rows}</table>"
                + (f"<ul>{notes}</ul>" if notes else ""))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["norm"] = norm_label(self.norm)
        out["status"] = self.status
        out["assumptions"] = list(self.assumptions)
        for k in ("lower", "upper", "estimate"):
            v = out[k]
            if isinstance(v, float) and math.isinf(v):
                out[k] = "inf"
        return out

    @classmethod
    def abstained(cls, *, method: str, norm: float, d: int, pa: float, pb: float | None,
                  reason: str, noise: dict[str, Any] | None = None) -> Certificate:
        """The ABSTAIN outcome: no certificate at all (distinct from radius 0)."""
        return cls(lower=0.0, upper=0.0, estimate=None, confidence=1.0, method=method, norm=norm,
                   d=d, pa=pa, pb=pb, assumptions=(reason,), abstain=True, noise=noise or {})


def dataframe(records: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> Any:
    """``pandas.DataFrame(records)``: the one place that imports the optional pandas.

    Every ``to_dataframe()`` of unicr goes through here, so a missing pandas is always the
    same :class:`~unicr.errors.UnicrError` naming the extra to install.
    """
    try:
        import pandas as pd
    except ImportError:
        from unicr.errors import UnicrError

        raise UnicrError(f"to_dataframe() needs pandas, an optional dependency: "
                         f"{PANDAS_HINT} (or pip install pandas)") from None
    return pd.DataFrame(list(records), columns=None if columns is None else list(columns))


def _num(x: float | None, digits: int = 6) -> str:
    if x is None:
        return "None"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def _short(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def _clip(text: str) -> str:
    return text if len(text) <= REPR_MAX else text[: REPR_MAX - 4] + "...)"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _noise_text(noise: dict[str, Any]) -> str:
    name = noise.get("name", "?")
    params = ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
                       for k, v in (noise.get("params") or {}).items())
    scale = noise.get("scale")
    parts = [x for x in (params, f"scale={scale:g}" if isinstance(scale, (int, float)) else "")
             if x]
    return f"{name} ({', '.join(parts)})" if parts else str(name)


@dataclass(frozen=True)
class CertificateArray(Sequence[Certificate]):
    """The certificates of several pA values (what :func:`unicr.radius` returns for an array).

    A read-only sequence of :class:`Certificate` (indexing, ``len``, iteration) with the
    numbers as numpy arrays: ``lower``, ``upper``, ``estimate`` (``nan`` where there is none),
    ``confidence``, ``pa``, ``pb`` (``nan`` in the binary case) and ``abstain``; ``status``
    is a list of strings.  Element ``i`` is exactly what the scalar call with ``pa[i]`` (and
    ``pb[i]``) returns.  :meth:`to_dataframe` gives one row per pA (needs pandas,
    ``pip install unicr[notebook]``).
    """

    certificates: tuple[Certificate, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "certificates", tuple(self.certificates))
        for c in self.certificates:
            if not isinstance(c, Certificate):
                raise TypeError(f"CertificateArray holds Certificates, got {type(c).__name__}")

    def __len__(self) -> int:
        return len(self.certificates)

    @overload
    def __getitem__(self, i: int) -> Certificate: ...

    @overload
    def __getitem__(self, i: slice) -> CertificateArray: ...

    def __getitem__(self, i: int | slice) -> Certificate | CertificateArray:
        if isinstance(i, slice):
            return CertificateArray(self.certificates[i])
        return self.certificates[i]

    def __iter__(self) -> Iterator[Certificate]:
        return iter(self.certificates)

    def _column(self, name: str) -> np.ndarray:
        return np.array([np.nan if getattr(c, name) is None else float(getattr(c, name))
                         for c in self.certificates], dtype=float)

    @property
    def lower(self) -> np.ndarray:
        """Proven lower bounds on R*, one per pA."""
        return self._column("lower")

    @property
    def upper(self) -> np.ndarray:
        """Proven upper bounds on R* (``inf`` where no failing perturbation was found)."""
        return self._column("upper")

    @property
    def estimate(self) -> np.ndarray:
        """Point estimates without guarantee (``nan`` where a certificate has none)."""
        return self._column("estimate")

    @property
    def confidence(self) -> np.ndarray:
        return self._column("confidence")

    @property
    def pa(self) -> np.ndarray:
        return self._column("pa")

    @property
    def pb(self) -> np.ndarray:
        """pB per certificate (``nan`` in the binary case pB = 1 - pA)."""
        return self._column("pb")

    @property
    def abstain(self) -> np.ndarray:
        return np.array([c.abstain for c in self.certificates], dtype=bool)

    @property
    def status(self) -> list[str]:
        return [c.status for c in self.certificates]

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per certificate (the columns of :meth:`to_dataframe`)."""
        return [{"pa": c.pa, "pb": c.pb, "lower": c.lower, "upper": c.upper,
                 "estimate": c.estimate, "status": c.status, "confidence": c.confidence,
                 "method": c.method, "norm": norm_label(c.norm), "d": c.d}
                for c in self.certificates]

    def to_dataframe(self) -> Any:
        """A ``pandas.DataFrame`` with one row per pA (pandas is an optional dependency)."""
        return dataframe(self.to_records())

    def __repr__(self) -> str:
        if not self.certificates:
            return "CertificateArray([])"
        c0 = self.certificates[0]
        counts: dict[str, int] = {}
        for s in self.status:
            counts[s] = counts.get(s, 0) + 1
        pa = self.pa
        text = (f"CertificateArray(n={len(self)}, pA={pa.min():.4g}..{pa.max():.4g}, "
                f"method={_short(c0.method, 16)}, norm=l{norm_label(c0.norm)}, d={c0.d}, "
                f"status: {', '.join(f'{k} {v}' for k, v in counts.items())})")
        return _clip(text)

    def _repr_markdown_(self) -> str:
        out = ["| pA | pB | lower | upper | status | confidence |", "|---|---|---|---|---|---|"]
        for c in self.certificates:
            pb = "" if c.pb is None else f"{c.pb:.6g}"
            out.append(f"| {c.pa:.6g} | {pb} | {_num(c.lower)} | {_num(c.upper)} | {c.status} "
                       f"| {c.confidence:.6g} |")
        return "\n".join(out)

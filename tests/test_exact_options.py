"""The exact engine's options (:class:`unicr.engines.exact_options.ExactOptions`, issue #13)."""

from __future__ import annotations

import dataclasses

import pytest

import unicr
from unicr.engines.exact import radius_exact
from unicr.engines.exact_options import ExactOptions, option_names
from unicr.errors import InvalidParameterError


def test_defaults_and_names() -> None:
    options = ExactOptions()
    assert (options.directions, options.two_level, options.rtol, options.c_h, options.eta) == (
        None, (), 1e-6, 0.03, 1e-15)
    assert option_names() == {"directions", "two_level", "rtol", "c_h", "eta"}


def test_frozen_and_normalised() -> None:
    options = ExactOptions.from_keywords(16, directions=[1, 2.0, 4], two_level=[(1, 2, "0.5")],
                                         rtol="1e-5")
    assert options.directions == (1, 2, 4)
    assert options.two_level == ((1, 2, 0.5),)
    assert options.rtol == 1e-5
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.rtol = 1e-3  # type: ignore[misc]


@pytest.mark.parametrize("keywords, match", [
    ({"directions": "pso"}, "direction searches of the mc engine"),
    ({"directions": [0, 3]}, r"integers in \[1, d=16\]"),
    ({"directions": [17]}, r"integers in \[1, d=16\]"),
    ({"two_level": [(1, 2)]}, "triples"),
    ({"two_level": [(10, 10, 1.0)]}, "k \\+ m <= d=16"),
    ({"rtol": 0.9}, r"rtol of the exact engine must be a number in \(0, 0.5\]"),
    ({"c_h": "x"}, "c_h"),
    ({"eta": 0}, "eta"),
    ({"bogus": 1, "n_mc": 3}, "unknown options 'bogus', 'n_mc' of the exact engine"),
])
def test_bad_options_are_refused_by_name(keywords: dict, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        ExactOptions.from_keywords(16, **keywords)


def test_construction_checks_without_dimension() -> None:
    with pytest.raises(InvalidParameterError, match="rtol"):
        ExactOptions(rtol=-1.0)
    with pytest.raises(InvalidParameterError, match="directions"):
        ExactOptions(directions=(0,))
    # counts beyond d are caught once d is known
    with pytest.raises(InvalidParameterError, match="d=4"):
        ExactOptions(directions=(8,)).for_dimension(4)


def test_options_object_and_keywords_agree() -> None:
    laplace = unicr.noise("laplace")
    by_keywords = radius_exact(laplace, 0.9, None, 2.0, 16, directions=[1, 16], rtol=1e-4)
    by_object = radius_exact(laplace, 0.9, None, 2.0, 16,
                             ExactOptions(directions=(1, 16), rtol=1e-4))
    mixed = radius_exact(laplace, 0.9, None, 2.0, 16, ExactOptions(directions=(1, 16)), rtol=1e-4)
    through_radius = unicr.radius(laplace, 0.9, 2, 16, method="exact", directions=[1, 16],
                                  rtol=1e-4)
    assert by_keywords == by_object == mixed == through_radius


def test_unknown_keyword_of_radius_exact_is_named() -> None:
    with pytest.raises(InvalidParameterError, match="unknown option 'bogus' of the exact engine"):
        radius_exact(unicr.noise("laplace"), 0.9, None, 2.0, 16, bogus=3)

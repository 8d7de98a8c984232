"""Prompts a user gives the click-guided model: clicks and boxes, in voxel indices.

Coordinates are voxel indices ``(i, j, k)`` of the image array (see :mod:`tumorseg.io` for
the axis order and how CLI coordinates — voxel or mm — map to indices:
:func:`tumorseg.io.parse_point` / :func:`tumorseg.io.point_to_index`). Prompts are immutable
values; a list of them in order is the whole interaction history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Box", "Click", "Prompts"]


@dataclass(frozen=True)
class Click:
    """One click.

    Attributes:
        index: voxel index (i, j, k) in the image array (integers, inside the volume).
        positive: True = "this is lesion", False = "this is not lesion".
        lesion: the lesion (instance) the click belongs to, 1…n.
    """

    index: tuple[int, int, int]
    positive: bool = True
    lesion: int = 1

    def __post_init__(self) -> None:
        if len(self.index) != 3:
            raise ValueError(f"a click needs 3 indices (i, j, k), got {self.index}")
        object.__setattr__(self, "index", tuple(int(v) for v in self.index))
        if self.lesion < 1:
            raise ValueError(f"lesion numbers start at 1, got {self.lesion}")


@dataclass(frozen=True)
class Box:
    """An axis-aligned 3D box around a lesion, inclusive voxel bounds ``lo ≤ index ≤ hi``.

    Attributes:
        lo: smallest (i, j, k) inside the box.
        hi: largest (i, j, k) inside the box.
        lesion: the lesion the box belongs to.
    """

    lo: tuple[int, int, int]
    hi: tuple[int, int, int]
    lesion: int = 1

    def __post_init__(self) -> None:
        lo = tuple(int(v) for v in self.lo)
        hi = tuple(int(v) for v in self.hi)
        if len(lo) != 3 or len(hi) != 3:
            raise ValueError(f"a box needs 3 + 3 indices, got {self.lo} and {self.hi}")
        object.__setattr__(self, "lo", tuple(min(a, b) for a, b in zip(lo, hi, strict=True)))
        object.__setattr__(self, "hi", tuple(max(a, b) for a, b in zip(lo, hi, strict=True)))

    def contains(self, index: Sequence[float]) -> bool:
        """Whether voxel ``index`` (i, j, k; rounded) lies inside the box."""
        q = [round(float(v)) for v in index]
        return all(a <= v <= b for v, a, b in zip(q, self.lo, self.hi, strict=True))

    @property
    def slices(self) -> tuple[slice, slice, slice]:
        """Array slices covering the box."""
        return tuple(slice(a, b + 1) for a, b in zip(self.lo, self.hi, strict=True))  # type: ignore[return-value]


@dataclass(frozen=True)
class Prompts:
    """The prompts for one lesion: clicks in the order given and an optional box."""

    clicks: tuple[Click, ...] = ()
    box: Box | None = None

    @property
    def positive(self) -> tuple[Click, ...]:
        return tuple(c for c in self.clicks if c.positive)

    @property
    def negative(self) -> tuple[Click, ...]:
        return tuple(c for c in self.clicks if not c.positive)

    def add(self, click: Click) -> Prompts:
        """A new Prompts with ``click`` appended (this one is unchanged)."""
        return Prompts((*self.clicks, click), self.box)

    @staticmethod
    def of(clicks: Sequence[Click], box: Box | None = None) -> Prompts:
        return Prompts(tuple(clicks), box)

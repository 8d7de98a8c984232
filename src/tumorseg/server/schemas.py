"""Request and response bodies of the API (pydantic). Voxel indices are ``[i, j, k]`` of the
study's image array (see :mod:`tumorseg.io`); sizes in voxels, spacing and positions in mm
(LPS)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BoxRequest",
    "ChangedBox",
    "ClickRequest",
    "ErrorBody",
    "ExportRequest",
    "ExportResponse",
    "Health",
    "HistoryEvent",
    "LesionRow",
    "LesionState",
    "MaskPatch",
    "OpenSession",
    "PromptClick",
    "PromptState",
    "SelectRequest",
    "SessionState",
    "SessionWithStudy",
    "Study",
]

Ijk = Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=3, max_length=3)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    """Every error: one readable line."""

    detail: str


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    model: dict[str, Any] | None
    model_error: str | None = None


class Study(BaseModel):
    id: str
    name: str
    modality: str
    shape: list[int] | None
    spacing: list[float] | None


class OpenSession(_Strict):
    study_id: Annotated[str, Field(min_length=1, max_length=64)]


class ClickRequest(_Strict):
    ijk: Ijk
    positive: bool = True
    lesion: Annotated[int, Field(ge=1, le=65535)] | None = None


class BoxRequest(_Strict):
    lo: Ijk
    hi: Ijk
    lesion: Annotated[int, Field(ge=1, le=65535)] | None = None


class SelectRequest(_Strict):
    lesion: Annotated[int, Field(ge=1, le=65535)]


class ExportRequest(_Strict):
    format: Literal["nifti", "seg", "rtstruct", "report"]


class ExportResponse(BaseModel):
    url: str


class ChangedBox(BaseModel):
    lo: list[int]
    hi: list[int]


class LesionState(BaseModel):
    id: int
    volume_ml: float
    accepted: bool
    voxels: int


class PromptClick(BaseModel):
    ijk: list[int]
    positive: bool


class PromptState(BaseModel):
    """The prompts that made the active lesion's current mask (follows undo/redo)."""

    clicks: list[PromptClick]
    box: ChangedBox | None


class SessionState(BaseModel):
    session_id: str
    version: int
    active_lesion: int
    lesions: list[LesionState]
    changed: ChangedBox | None
    seconds: float | None
    can_undo: bool
    can_redo: bool
    prompts: PromptState


class SessionWithStudy(SessionState):
    study_id: str
    shape: list[int]
    spacing: list[float]
    origin: list[float]
    direction: list[list[float]]
    modality: str


class LesionRow(BaseModel):
    id: int
    voxels: int
    volume_ml: float
    recist_long_mm: float
    recist_short_mm: float
    max_3d_mm: float
    centroid_mm: list[float]
    bbox: list[list[int]]
    intensity_mean: float
    accepted: bool


class HistoryEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    time: str
    action: str
    lesion: int | None
    model_version: str | None
    seconds: float | None
    version: int | None


class MaskPatch(BaseModel):
    lo: list[int]
    hi: list[int]
    dtype: Literal["uint8", "uint16"]
    order: Literal["F"]
    data: str

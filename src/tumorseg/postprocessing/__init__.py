"""Post-processing of predicted label maps and the per-lesion table.

* :mod:`~tumorseg.postprocessing.components`: connected components per label, removal of
  components below a volume in mm³, largest-k.
* :mod:`~tumorseg.postprocessing.organ`: restriction to an organ mask ("drop" or "mask").
* :mod:`~tumorseg.postprocessing.pipeline`: :class:`PostprocessConfig` and
  :func:`postprocess` (organ → size → largest-k).
* :mod:`~tumorseg.postprocessing.lesions`: :func:`lesion_table` and its CSV.

Label maps are integer arrays [i, j, k] (0 = background); spacing and positions in mm, LPS
(conventions in :mod:`tumorseg.io`).
"""

from __future__ import annotations

from tumorseg.postprocessing.components import (
    CONNECTIVITIES,
    component_labels,
    keep_largest_components,
    label_components,
    remove_small_components,
)
from tumorseg.postprocessing.lesions import (
    LESION_COLUMNS,
    Lesion,
    lesion_table,
    lesion_table_csv,
    write_lesion_table,
)
from tumorseg.postprocessing.organ import OrganMode, organ_region, restrict_to_organ
from tumorseg.postprocessing.pipeline import DEFAULT_MIN_VOLUME_MM3, PostprocessConfig, postprocess

__all__ = [
    "CONNECTIVITIES",
    "DEFAULT_MIN_VOLUME_MM3",
    "LESION_COLUMNS",
    "Lesion",
    "OrganMode",
    "PostprocessConfig",
    "component_labels",
    "keep_largest_components",
    "label_components",
    "lesion_table",
    "lesion_table_csv",
    "organ_region",
    "postprocess",
    "remove_small_components",
    "restrict_to_organ",
    "write_lesion_table",
]

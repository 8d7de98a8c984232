"""The result of predicting one volume: probabilities, label map and uncertainty."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from tumorseg.inference.uncertainty import CaseUncertainty, case_uncertainty
from tumorseg.io import Volume
from tumorseg.postprocessing import Lesion, PostprocessConfig, lesion_table, postprocess

__all__ = ["Prediction"]


@dataclass(frozen=True, eq=False)
class Prediction:
    """One volume's prediction, every part on the input's exact original grid.

    Attributes:
        labels: uint8 label map [i, j, k] (argmax of ``probabilities``, or post-processed).
        probabilities: float32 [classes, i, j, k], the mean softmax over folds and mirrored
            copies, resampled linearly back to the input grid (channel ``v`` = label ``v``).
        uncertainty: float32 [i, j, k], entropy of ``probabilities`` normalised to [0, 1]
            (:mod:`tumorseg.inference.uncertainty`).
        label_names: label value → name.
        seconds: wall time per stage ("preprocess", "network", "restore"), in seconds.
        postprocessing: the :class:`PostprocessConfig` applied to ``labels``, or None.
    """

    labels: Volume
    probabilities: Volume
    uncertainty: Volume
    label_names: dict[int, str]
    seconds: dict[str, float] = field(default_factory=dict)
    postprocessing: PostprocessConfig | None = None

    def postprocessed(self, config: PostprocessConfig | None = None,
                      organ_mask: Volume | None = None) -> Prediction:
        """A copy whose label map went through :func:`~tumorseg.postprocessing.postprocess`
        (probabilities and uncertainty are unchanged)."""
        config = config or PostprocessConfig()
        labels = postprocess(self.labels, config, organ_mask)
        return replace(self, labels=labels, postprocessing=config)

    def scores(self) -> CaseUncertainty:
        """Per-case uncertainty scores of the current label map."""
        return case_uncertainty(self.probabilities.array, self.labels.array,
                                self.uncertainty.array)

    def lesions(self, connectivity: int | None = None) -> list[Lesion]:
        """The lesion table of the current label map (with mean probability and uncertainty).

        ``connectivity`` defaults to the post-processing's (26 without post-processing).
        """
        if connectivity is None:
            connectivity = self.postprocessing.connectivity if self.postprocessing else 26
        return lesion_table(self.labels, self.probabilities, self.uncertainty,
                            self.label_names, connectivity)

    @property
    def foreground_voxels(self) -> int:
        """Nonzero voxels of the label map."""
        return int(np.count_nonzero(self.labels.array))

"""Classical (non-learned) segmenters used as baselines beside the networks."""

from __future__ import annotations

from tumorseg.baselines.organ_outlier import OrganOutlierConfig, segment_organ_outliers

__all__ = ["OrganOutlierConfig", "segment_organ_outliers"]

"""CT attenuation of the torso phantom's tissues (HU), per contrast phase.

:func:`hu_tables` draws, for one case, the mean HU of every
:class:`~tumorseg.phantoms.anatomy_tissues.Tissue` and the amplitude (HU) of its smooth
internal heterogeneity. Phases: ``"non-contrast"``, ``"arterial"`` (late arterial) and
``"portal-venous"`` (≈ 70 s, the usual staging scan). Values follow typical adult reports,
e.g. liver ≈ 55–65 HU without contrast and ≈ 100–115 HU portal-venous, renal cortex ≈ 150–190
HU enhanced, aorta ≈ 150–180 HU portal-venous and 250–350 HU arterial, fat −90…−110 HU.
"""

from __future__ import annotations

import numpy as np

from tumorseg.phantoms.anatomy_tissues import Tissue

__all__ = ["PHASES", "hu_tables"]

T = Tissue

#: Contrast phases and their probabilities when a case draws its own.
PHASES: dict[str, float] = {"portal-venous": 0.65, "arterial": 0.15, "non-contrast": 0.20}

# tissue: (non-contrast, arterial, portal-venous) mean HU
_HU: dict[int, tuple[float, float, float]] = {
    T.AIR: (-1000, -1000, -1000),
    T.SKIN: (35, 40, 45),
    T.SUBCUT_FAT: (-105, -105, -105),
    T.MUSCLE: (50, 55, 60),
    T.VISCERAL_FAT: (-98, -98, -98),
    T.RETRO_FAT: (-98, -98, -98),
    T.CORTICAL: (1150, 1150, 1150),
    T.CANCELLOUS: (230, 230, 230),
    T.DISC: (85, 90, 95),
    T.CANAL: (15, 15, 18),
    T.CARTILAGE: (120, 120, 125),
    T.LUNG: (-860, -860, -860),
    T.LUNG_VESSEL: (40, 200, 150),
    T.MYOCARDIUM: (45, 115, 105),
    T.HEART_BLOOD: (42, 280, 165),
    T.ARTERY: (42, 300, 170),
    T.VEIN: (42, 85, 150),
    T.PORTAL: (40, 140, 185),
    T.HEPATIC_VEIN: (40, 58, 165),
    T.LIVER: (60, 78, 108),
    T.GALLBLADDER: (8, 8, 8),
    T.SPLEEN: (48, 125, 115),
    T.PANCREAS: (42, 120, 95),
    T.KIDNEY_CORTEX: (33, 210, 172),
    T.KIDNEY_MEDULLA: (30, 75, 152),
    T.URINE: (8, 8, 10),
    T.BLADDER_WALL: (40, 70, 80),
    T.GI_WALL: (40, 95, 100),
    T.GI_FLUID: (12, 12, 14),
    T.GI_GAS: (-985, -985, -985),
    T.GI_CONTRAST: (260, 260, 260),
    T.STOOL: (-30, -30, -30),
    T.ADRENAL: (30, 70, 70),
    T.LYMPH_NODE: (40, 60, 75),
    T.SMALL_VESSEL: (40, 220, 150),
    T.TABLE_SHELL: (250, 250, 250),
    T.TABLE_FOAM: (-920, -920, -920),
    T.PELVIC_ORGAN: (40, 65, 75),
    T.MARROW_FAT: (-40, -40, -40),
    T.CALCIFICATION: (800, 800, 800),
    T.CORTICAL_THIN: (1150, 1150, 1150),
}

# tissue: std (HU) of its smooth heterogeneity (correlation ~ 15 mm) and fine texture (~ 3 mm)
_TEXTURE: dict[int, tuple[float, float]] = {
    T.SUBCUT_FAT: (6, 4), T.VISCERAL_FAT: (7, 5), T.RETRO_FAT: (6, 4), T.MUSCLE: (5, 4),
    T.LIVER: (5, 3), T.SPLEEN: (5, 3), T.PANCREAS: (8, 6), T.KIDNEY_CORTEX: (8, 4),
    T.KIDNEY_MEDULLA: (10, 4), T.CANCELLOUS: (45, 35), T.CORTICAL: (90, 60),
    T.CORTICAL_THIN: (50, 30), T.LUNG: (25, 20), T.STOOL: (60, 40), T.GI_FLUID: (6, 3),
    T.GI_CONTRAST: (12, 6), T.MYOCARDIUM: (6, 3), T.HEART_BLOOD: (8, 3), T.GI_WALL: (8, 5),
    T.BLADDER_WALL: (5, 3), T.PELVIC_ORGAN: (6, 4), T.DISC: (8, 5), T.CARTILAGE: (30, 15),
    T.SKIN: (5, 3), T.CALCIFICATION: (150, 50),
}

_PHASE_INDEX = {"non-contrast": 0, "arterial": 1, "portal-venous": 2}


def hu_tables(phase: str, rng: np.random.Generator, thin_cortex_fraction: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-case lookup tables over tissue classes: mean HU, smooth and fine texture std.

    Means are jittered per case (±4 % of the enhancement, a few HU otherwise).
    ``thin_cortex_fraction`` (0–1) is how much of a boundary voxel drawn as
    ``CORTICAL_THIN`` is really cortical bone (the rest is cancellous): cortex thinner than
    the voxel looks less bright, as on a real coarse scan. Returns three float32 arrays of 256.
    """
    if phase not in _PHASE_INDEX:
        raise ValueError(f"unknown phase {phase!r}; expected one of {sorted(_PHASE_INDEX)}")
    p = _PHASE_INDEX[phase]
    mean = np.zeros(256, np.float32)
    smooth = np.zeros(256, np.float32)
    fine = np.zeros(256, np.float32)
    for tissue, values in _HU.items():
        v = float(values[p])
        base = float(values[0])
        jitter = rng.normal(0, 3.0) + 0.04 * rng.normal() * (v - base)
        mean[tissue] = v + (jitter if abs(v) < 600 else 0.0)
    mean[T.CORTICAL] = float(rng.uniform(750, 1050))
    mean[T.CANCELLOUS] = float(rng.uniform(180, 270))
    f = float(np.clip(thin_cortex_fraction, 0.0, 1.0))
    mean[T.CORTICAL_THIN] = mean[T.CANCELLOUS] + f * (mean[T.CORTICAL] - mean[T.CANCELLOUS])
    for tissue, (a, b) in _TEXTURE.items():
        smooth[tissue] = a
        fine[tissue] = b
    return mean, smooth, fine

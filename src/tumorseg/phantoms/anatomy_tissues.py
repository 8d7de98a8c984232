"""Tissue classes and organ labels of the torso phantoms.

The anatomy is first drawn as a map of *tissue classes* (:class:`Tissue`, uint8), finer than
the organ labels: a kidney is cortex, medulla and urine; a bowel loop is wall, fluid and gas.
Each image modality turns tissue classes into intensities (CT in HU, PET in SUV) with its own
table. The *organ labels* (:data:`ORGAN_LABELS`) are what a case exposes as
``extras["organs"]``.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ORGAN_LABELS", "Tissue"]


class Tissue(IntEnum):
    """Tissue classes of the torso phantoms (values of the internal tissue map)."""

    AIR = 0
    SKIN = 1
    SUBCUT_FAT = 2
    MUSCLE = 3
    VISCERAL_FAT = 4  # intra-abdominal fat: free space that organs may take
    RETRO_FAT = 5  # perirenal, renal-sinus, pericardial fat: same HU, not taken by organs
    CORTICAL = 6
    CANCELLOUS = 7
    DISC = 8
    CANAL = 9  # spinal canal: CSF and cord
    CARTILAGE = 10
    LUNG = 11
    LUNG_VESSEL = 12
    MYOCARDIUM = 13
    HEART_BLOOD = 14
    ARTERY = 15  # aorta and arteries
    VEIN = 16  # IVC, renal, iliac veins
    PORTAL = 17  # portal, splenic and mesenteric veins, intrahepatic portal branches
    HEPATIC_VEIN = 18
    LIVER = 19
    GALLBLADDER = 20
    SPLEEN = 21
    PANCREAS = 22
    KIDNEY_CORTEX = 23
    KIDNEY_MEDULLA = 24
    URINE = 25  # renal pelvis, ureters, bladder content
    BLADDER_WALL = 26
    GI_WALL = 27  # stomach, small bowel and colon wall
    GI_FLUID = 28
    GI_GAS = 29
    GI_CONTRAST = 30  # positive oral contrast
    STOOL = 31
    ADRENAL = 32
    LYMPH_NODE = 33
    SMALL_VESSEL = 34  # mesenteric vessels in fat
    TABLE_SHELL = 35
    TABLE_FOAM = 36
    PELVIC_ORGAN = 37  # prostate / uterus
    MARROW_FAT = 38
    CALCIFICATION = 39
    CORTICAL_THIN = 40  # cortical shell thinner than a voxel: HU mixed by the voxel size


#: Organ label values of ``extras["organs"]`` (0 = everything else). Intrahepatic vessels
#: belong to the liver; a lesion belongs to the organ it grows in (so an organ label
#: includes its lesions, as in LiTS and KiTS).
ORGAN_LABELS: dict[str, int] = {
    "liver": 1,
    "kidney_right": 2,
    "kidney_left": 3,
    "spleen": 4,
    "pancreas": 5,
    "aorta": 6,
    "ivc": 7,
    "bone": 8,
    "gallbladder": 9,
    "stomach": 10,
    "bowel": 11,
    "lung": 12,
    "bladder": 13,
    "heart": 14,
    "portal_splenic_vein": 15,
    "lymph_node": 16,
}

"""The report as one self-contained HTML page (inline CSS, PNGs as base64 data URIs)."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from tumorseg.measure import CaseMeasurements, LesionMeasurement

__all__ = ["DISCLAIMER", "ReportFigures", "render_html"]

#: The plain statement every report carries.
DISCLAIMER = ("Not a diagnosis. This report was produced automatically by research software "
              "(tumorseg) from a segmentation that may be wrong. Every finding must be checked "
              "on the images by a qualified physician before any clinical use.")

_CSS = """
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:1120px;margin:0 auto;padding:24px 32px 40px;background:#fff;min-height:100vh}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 10px;
border-bottom:2px solid #d9dde5;padding-bottom:4px}h3{font-size:16px;margin:18px 0 6px}
.sub{color:#5b6475;font-size:13px;margin-bottom:14px}
.warn{background:#fff4e5;border:1px solid #f0a040;border-left:6px solid #e07b00;padding:10px 14px;
border-radius:4px;font-size:14px;margin:12px 0}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:10px 0}
.card{flex:1 1 150px;background:#eef2f8;border-radius:6px;padding:10px 14px}
.card .v{font-size:22px;font-weight:bold}.card .k{font-size:12px;color:#5b6475}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border:1px solid #d9dde5;padding:4px 8px;text-align:right}
th{background:#eef2f8}td.l,th.l{text-align:left}
tr:nth-child(even) td{background:#fafbfc}
.meta td{text-align:left}.meta td:first-child{color:#5b6475;white-space:nowrap}
figure{margin:8px 0}figure img{max-width:100%;display:block;border-radius:4px}
figcaption{font-size:12px;color:#5b6475;margin-top:4px}
.lesion{page-break-inside:avoid;break-inside:avoid;margin-bottom:18px}
.key{display:inline-block;width:18px;height:3px;vertical-align:middle;margin:0 4px}
.note{font-size:13px;color:#5b6475}
footer{font-size:12px;color:#5b6475;margin-top:28px;border-top:1px solid #d9dde5;padding-top:8px}
@media print{body{background:#fff}main{padding:0}}
"""


@dataclass(frozen=True)
class ReportFigures:
    """PNG bytes of the report's figures."""

    mip: bytes | None
    lesions: Mapping[int, bytes] = field(default_factory=dict)
    uncertainty: bytes | None = None


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _n(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def _card(key: str, value: str) -> str:
    return f'<div class="card"><div class="v">{escape(value)}</div><div class="k">{escape(key)}' \
           "</div></div>"


def _meta(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="meta">{body}</table>'


def _lesion_table(result: CaseMeasurements) -> str:
    s = result.summary
    unit = s.intensity_unit or "intensity"
    has_pet = s.total_mtv_ml is not None
    has_organ = any(x.organ_name is not None for x in result.lesions)
    has_unc = any(x.mean_uncertainty is not None for x in result.lesions)
    head = ["#", "volume mL", "RECIST long mm", "RECIST short mm", "3D max mm",
            "centroid x, y, z (LPS mm)", f"{unit} mean ± sd", f"{unit} min / max"]
    head += ["SUVmax", "SUVpeak", "SUVmean", "MTV mL", "TLG"] if has_pet else []
    head += ["organ (share)"] if has_organ else []
    head += ["mean uncertainty"] if has_unc else []
    rows = []
    for x in result.lesions:
        cells = [f'<a href="#lesion-{x.lesion_id}">{x.lesion_id}</a>', f"{x.volume_ml:.2f}",
                 f"{x.recist_long_mm:.1f}", f"{x.recist_short_mm:.1f}",
                 f"{x.max_diameter_3d_mm:.1f}",
                 f"{x.centroid_x_mm:.1f}, {x.centroid_y_mm:.1f}, {x.centroid_z_mm:.1f}",
                 f"{x.intensity_mean:.1f} ± {x.intensity_std:.1f}",
                 f"{x.intensity_min:.0f} / {x.intensity_max:.0f}"]
        if has_pet:
            cells += [_n(x.suv_max, ".2f"), _n(x.suv_peak, ".2f"), _n(x.suv_mean, ".2f"),
                      _n(x.mtv_ml, ".2f"), _n(x.tlg, ".1f")]
        if has_organ:
            share = "" if x.organ_fraction is None else f" ({x.organ_fraction:.0%})"
            cells += [f'<span class="l">{escape(x.organ_name or "")}{share}</span>']
        if has_unc:
            cells += [_n(x.mean_uncertainty, ".3f")]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"
    return f'<table id="lesions">{header}{"".join(rows)}</table>'


def _lesion_section(x: LesionMeasurement, png: bytes | None, unit: str) -> str:
    facts = [f"volume {x.volume_ml:.2f} mL", f"RECIST {x.recist_long_mm:.1f} × "
             f"{x.recist_short_mm:.1f} mm", f"3D max {x.max_diameter_3d_mm:.1f} mm",
             f"{unit or 'intensity'} {x.intensity_mean:.1f} ± {x.intensity_std:.1f}"]
    if x.suv_max is not None:
        facts.append(f"SUVmax {x.suv_max:.2f}, SUVpeak {_n(x.suv_peak, '.2f')}, "
                     f"TLG {_n(x.tlg, '.1f')}")
    if x.organ_name is not None:
        facts.append(f"in {x.organ_name}")
    figure = "" if png is None else (
        f"<figure>{_img(png, f'lesion {x.lesion_id}: axial, coronal and sagittal views')}"
        "<figcaption>Axial (RECIST slice), coronal and sagittal views through the lesion "
        'centre. <span class="key" style="background:#ff3b30"></span>lesion outline '
        '<span class="key" style="background:#ffd60a"></span>other lesions '
        '<span class="key" style="background:#00e5ff"></span>RECIST long axis '
        '<span class="key" style="background:#ff4fd8"></span>short axis.</figcaption></figure>')
    return (f'<section class="lesion" id="lesion-{x.lesion_id}"><h3>Lesion {x.lesion_id}</h3>'
            f'<div class="note">{escape(" · ".join(facts))}</div>{figure}</section>')


def render_html(result: CaseMeasurements, figures: ReportFigures,
                case_rows: Sequence[tuple[str, str]], model_rows: Sequence[tuple[str, str]],
                notes: Sequence[str] = (), title: str = "Lesion report") -> str:
    """The whole report page (see the module docstring)."""
    s = result.summary
    cards = [_card("lesions", str(s.lesion_count)),
             _card("total tumour volume", f"{s.total_volume_ml:.2f} mL")]
    if s.lesion_count > 1:
        cards.append(_card("lesion spread Dmax", f"{s.dmax_mm:.1f} mm"))
    if result.lesions:
        longest = max(result.lesions, key=lambda x: x.recist_long_mm)
        cards.append(_card("longest RECIST axis", f"{longest.recist_long_mm:.1f} mm "
                                                  f"(#{longest.lesion_id})"))
    if s.total_mtv_ml is not None:
        cards += [_card("total MTV", f"{s.total_mtv_ml:.2f} mL"),
                  _card("total TLG", f"{_n(s.total_tlg, '.1f')} SUV·mL")]
    parts = [f"<h1>{escape(title)}</h1>",
             f'<div class="sub">{escape(" · ".join(v for k, v in case_rows[:2]))}</div>',
             f'<div class="warn"><b>{escape(DISCLAIMER.split(". ")[0])}.</b> '
             f'{escape(DISCLAIMER.split(". ", 1)[1])}</div>',
             "<h2>Case summary</h2>", f'<div class="cards">{"".join(cards)}</div>',
             _meta(case_rows)]
    parts += [f'<div class="warn">{escape(n)}</div>' for n in notes]
    parts.append("<h2>Lesions</h2>")
    if result.lesions:
        parts.append(_lesion_table(result))
    else:
        parts.append('<p class="note">No lesion in the mask: nothing to measure.</p>')
    if figures.mip is not None:
        parts += ["<h2>Overview</h2>",
                  f"<figure>{_img(figures.mip, 'coronal maximum intensity projection')}"
                  "<figcaption>Coronal maximum intensity projection; every lesion's outline "
                  "projected in red, with its number.</figcaption></figure>"]
    if result.lesions:
        parts.append("<h2>Lesion views</h2>")
        parts += [_lesion_section(x, figures.lesions.get(x.lesion_id), s.intensity_unit)
                  for x in result.lesions]
    if figures.uncertainty is not None:
        parts += ["<h2>Uncertainty</h2>",
                  f"<figure>{_img(figures.uncertainty, 'uncertainty projection')}"
                  "<figcaption>Maximum projection of the model's voxel uncertainty "
                  "(normalised entropy, 0 = certain, 1 = maximally uncertain). The lesion "
                  "table lists each lesion's mean uncertainty.</figcaption></figure>"]
    parts += ["<h2>Model</h2>", _meta(model_rows),
              "<h2>How the numbers are defined</h2>",
              '<ul class="note"><li>Volumes count voxels × voxel volume. Diameters are '
              "measured between boundary voxel centres; the RECIST 1.1 long axis is the longest "
              "on an axial slice, the short axis the longest chord perpendicular to it on the "
              "same slice.</li><li>Positions are patient coordinates (LPS, mm). Lesions are "
              "connected components of the mask, or the values of an instance map. Slice "
              "numbers in the figure titles are the image file's own voxel indices.</li>"
              + ("<li>SUVpeak: highest mean SUV in a 1 mL sphere (radius 6.2 mm) centred in "
                 "the lesion; the sphere may reach beyond the lesion, so for a lesion smaller "
                 "than 1 mL SUVpeak can exceed SUVmax. MTV: lesion volume. "
                 "TLG = SUVmean × MTV.</li>" if s.suv_peak_radius_mm is not None else "")
              + "</ul>",
              f"<footer>{escape(DISCLAIMER)}</footer>"]
    body = "\n".join(parts)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
            f"<body><main>\n{body}\n</main></body></html>\n")

"""The CJK fonts documents embed, brought by the project's own install.

`pylopdf-fonts-zh-cn` (PyPI) ships Noto Serif SC and Noto Sans SC (OpenType/CFF, the
Simplified Chinese regional subsets of Noto CJK by Google and Adobe) under the SIL Open Font
License 1.1, which allows bundling and embedding them in documents; embedded subsets in a PDF
are not bound by the licence (OFL: "does not apply to any document created using the fonts").
Serif (宋体-like) sets the text, Sans (黑体-like) the headings and bold, as Chinese official
documents do. fpdf2 embeds only the glyphs used (subsetting), so a PDF stays small."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

FAMILY = "noto"  # the family name templates and code use


@dataclass(frozen=True)
class FontFiles:
    serif: Path
    sans: Path
    licence: str


@cache
def font_files() -> FontFiles:
    import pylopdf_fonts_zh_cn as package

    folder = Path(package.__file__).parent
    serif, sans = folder / "NotoSerifSC-Regular.otf", folder / "NotoSansSC-Regular.otf"
    for path in (serif, sans):
        if not path.is_file():  # a broken install: say which file, not a parser error
            raise FileNotFoundError(f"CJK font missing: {path} (reinstall pylopdf-fonts-zh-cn)")
    return FontFiles(serif=serif, sans=sans, licence="SIL Open Font License 1.1")

"""Build ``layers/data/innosite-cjk-sans.otf``: the CJK font of charts and pages.

A subset of Noto Sans CJK SC Regular (SIL Open Font License 1.1) to ASCII, every
character of GB 2312 and every character of the package's output texts
(:data:`layers.i18n.TEXTS`) and shipped tables, renamed "innosite CJK Sans" as a
modified version. Run once after adding texts or tables with new characters:

    python scripts/build_cjk_font.py /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

(Debian: ``apt-get install fonts-noto-cjk``.) Needs fontTools (a matplotlib dependency).
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "layers" / "data" / "innosite-cjk-sans.otf"
#: Files whose characters the font must cover (tables and modules with Chinese names).
SOURCES = (
    "layers/i18n.py",
    "layers/data/*.csv",
    "layers/china/*.py",
    "layers/macro/*.py",
    "layers/national/*.py",
    "layers/cli/*.py",
)


def gb2312() -> set[str]:
    """Every character of GB 2312 (rows 0xA1-0xF7, columns 0xA1-0xFE)."""
    out = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                out.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return out


def characters() -> set[str]:
    """The characters the font covers."""
    chars = gb2312() | {chr(c) for c in range(0x20, 0x7F)}
    for pattern in SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            chars |= {c for c in path.read_text(encoding="utf-8") if ord(c) >= 0x2E80}
    return chars


def main() -> None:
    from fontTools import subset
    from fontTools.ttLib import TTCollection, TTFont

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="NotoSansCJK-Regular.ttc or NotoSansCJKsc-Regular.otf")
    args = parser.parse_args()
    if args.source.endswith((".ttc", ".otc")):
        fonts = TTCollection(args.source).fonts
        font = next(f for f in fonts if f["name"].getDebugName(1) == "Noto Sans CJK SC")
    else:
        font = TTFont(args.source)
    options = subset.Options()
    options.hinting = False
    options.layout_features = ["kern", "palt", "vert"]
    options.name_IDs = ["*"]
    sub = subset.Subsetter(options)
    sub.populate(unicodes=sorted(ord(c) for c in characters()))
    sub.subset(font)
    name = font["name"]
    for record in list(name.names):
        if record.nameID in (1, 4, 16):
            name.setName("innosite CJK Sans", record.nameID, record.platformID,
                         record.platEncID, record.langID)  # fmt: skip
        elif record.nameID == 6:
            name.setName("innositeCJKSans-Regular", record.nameID, record.platformID,
                         record.platEncID, record.langID)  # fmt: skip
        elif record.nameID == 3:
            name.setName("innosite CJK Sans Regular; subset of Noto Sans CJK SC",
                         record.nameID, record.platformID, record.platEncID,
                         record.langID)  # fmt: skip
    cff = font["CFF "].cff
    cff.fontNames = ["innositeCJKSans-Regular"]
    name.names = [r for r in name.names if r.nameID not in (16, 17) or r.langID in (0x409, 0)]
    font.save(TARGET)
    print(f"{TARGET}: {TARGET.stat().st_size / 1e6:.2f} MB, {len(font.getGlyphOrder())} glyphs")


if __name__ == "__main__":
    main()

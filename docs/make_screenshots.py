"""Render the README's pictures with LibreOffice headless: the tabs the crash course walks through (Start,
Guide, embed, an attention heat map, the MLP, the residual stream, predict, LogitLens, Attribution,
Surgery) of a built `tiny` workbook (random weights, so the tokens are nonsense; the layout is real).

Each tab is copied, with the engine's values, its formatting (colour scales included) and its charts, into a
workbook of its own, printed landscape one page wide, which LibreOffice exports to PDF (its first page);
pdftoppm (Debian's poppler-utils) makes the PNG.

    apt-get install poppler-utils   # once
    .venv/bin/python docs/make_screenshots.py
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # libreoffice.py, the tests' driver

import numpy as np  # noqa: E402

import libreoffice  # noqa: E402
from xlgpt.model import checkpoint  # noqa: E402
from xlgpt.workbook import builder  # noqa: E402
from xlgpt import engine  # noqa: E402
from xlgpt.sheet.book import Book, Formulas, Greyed, Sheet, Texts, Values  # noqa: E402
from xlgpt.xlsx.packager import write_book  # noqa: E402

OUT = Path(__file__).parent / "img"
PROMPT = "If today is Monday, tomorrow is"
# (not bpe: its merge steps span some 1,700 columns, too wide for one printed page)
TABS = {"start.png": "Start", "guide.png": "Guide", "embed.png": "embed",
        "attention.png": "h.1.attn.probs", "mlp.png": "h.0.mlp.gelu", "residual.png": "h.1.resid_post",
        "predict.png": "predict", "logitlens.png": "LogitLens", "attribution.png": "Attribution",
        "surgery.png": "Surgery"}


def values_only(sheet: Sheet, token_count: int) -> Sheet:
    """The tab as it shows: every formula replaced by its value, formatting, heat maps and the padding's grey
    kept (its rule reads TokenCount, which a tab alone does not have: the count is written in)."""
    greyed = [Greyed(g.ref, g.formula.replace("TokenCount", str(token_count))) for g in sheet.greyed]
    out = Sheet(sheet.name, col_widths=dict(sheet.col_widths), color_scales=list(sheet.color_scales),
                freeze=sheet.freeze, charts=list(sheet.charts), fit_to_page=True, greyed=greyed,
                links=list(sheet.links))
    for b in sheet.blocks:
        if isinstance(b, Formulas):
            v = sheet.computed[b]
            if v.dtype == np.float64:
                out.add(Values(b.row, b.col, v, style=b.style))
            else:
                out.add(Texts(b.row, b.col, [[x if isinstance(x, (str, float)) else str(x) for x in row]
                                             for row in v.tolist()], style=b.style))
        else:
            out.add(b)
    return out


def main() -> int:
    exe = libreoffice.soffice()
    if exe is None or shutil.which("pdftoppm") is None:
        print("needs LibreOffice (soffice) and pdftoppm (apt-get install libreoffice-calc poppler-utils)", file=sys.stderr)
        return 1
    book = builder.build_workbook(checkpoint.load("random:tiny", seed=3), PROMPT, 16, lens=True)
    count = int(engine.read_range(book, "TokenCount")[0, 0])
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, tab in TABS.items():
            single = Book([values_only(book.sheet(tab), count)])
            src = Path(tmp) / f"{Path(name).stem}.xlsx"
            write_book(single, src)
            subprocess.run([exe, f"-env:UserInstallation=file://{tmp}/profile", "--headless", "--norestore",
                            "--convert-to", "pdf", "--outdir", tmp, str(src)], check=True, capture_output=True)
            subprocess.run(["pdftoppm", "-png", "-r", "90", "-f", "1", "-l", "1", "-singlefile",
                            str(Path(tmp) / f"{Path(name).stem}.pdf"), str(Path(tmp) / Path(name).stem)],
                           check=True, capture_output=True)
            shutil.copy(Path(tmp) / f"{Path(name).stem}.png", OUT / name)
            print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
